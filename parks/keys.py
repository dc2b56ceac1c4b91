"""Each park's signing key (Ed25519): created on first use, rotated on demand; the private half in a file of
``PARK_KEY_DIR`` (``core.keyfiles``), the public half in the park's JWK Set, which gates are enrolled with.

Rotating retires the key that signed: the credentials it signed still verify (it stays in the JWK Set) until they
expire or their holder provisions again.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache

from cryptography.hazmat.primitives.asymmetric import ed25519
from cwt import COSEKey
from cwt.cose_key_interface import COSEKeyInterface
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from certkit import jwk_of, kid_of_public_key, kid_text
from certkit.trust import kid_bytes
from core.keyfiles import key_file_path, key_file_write
from parks.models import KeyState, Park, ParkKey

log = logging.getLogger(__name__)


def park_key_create(*, park: Park) -> ParkKey:
    """A new key that signs ``park``'s credentials and bundles from now on; the one before is retired (it still
    verifies).  The private file is written first: a crash leaves an unused file, never a key without one."""
    private = ed25519.Ed25519PrivateKey.generate()
    kid = kid_of_public_key(private.public_key())
    key_file_write(settings.PARK_KEY_DIR, kid_text(kid), private)
    with transaction.atomic():
        ParkKey.objects.select_for_update().filter(park=park, state=KeyState.ACTIVE).update(
            state=KeyState.RETIRED, retired_at=timezone.now())
        key = ParkKey.objects.create(park=park, kid=kid_text(kid), public_jwk=jwk_of(private.public_key(), kid=kid))
    log.info("park %s signing key %s created", park.code, key.kid)
    return key


def park_key_active(*, park: Park) -> ParkKey:
    """The key that signs for ``park`` now, created on first use.  ``ImproperlyConfigured`` when its private file
    is missing (a server without the mounted key directory)."""
    key = ParkKey.objects.filter(park=park, state=KeyState.ACTIVE).first()
    if key is None:
        try:
            key = park_key_create(park=park)
        except IntegrityError:  # another process created one at the same moment
            key = ParkKey.objects.get(park=park, state=KeyState.ACTIVE)
    if not key_file_path(settings.PARK_KEY_DIR, key.kid).exists():
        raise ImproperlyConfigured(f"the private key of {key.kid} is not in PARK_KEY_DIR ({settings.PARK_KEY_DIR})")
    return key


def park_jwks(*, park: Park) -> dict:
    """The park's published keys: the one that signs (made now if the park has none yet) and the retired ones
    whose credentials may still be out."""
    if not ParkKey.objects.filter(park=park, state=KeyState.ACTIVE).exists():
        park_key_active(park=park)
    keys = ParkKey.objects.filter(park=park).exclude(state=KeyState.WITHDRAWN).order_by("created_at", "id")
    return {"keys": [key.public_jwk for key in keys]}


def park_signer(key: ParkKey) -> COSEKeyInterface:
    """The COSE signing key of ``key`` (read from its file once per process)."""
    return _private(str(settings.PARK_KEY_DIR), key.kid)


@cache
def _private(directory: str, kid: str) -> COSEKeyInterface:
    return COSEKey.from_pem(key_file_path(directory, kid).read_bytes(), alg="EdDSA", kid=kid_bytes(kid))


def secret_digest(secret: str) -> str:
    """What is kept of a device's shared secret (a charger's password, a lamp post's key): its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()
