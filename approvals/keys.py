"""Issuer keys: created, rotated and withdrawn; the private halves in files, the public ones in the JWK Set.

A key's private half is a PEM file named by its key id in ``settings.CERTIFICATE_KEY_DIR`` (mode 0600); the
database keeps only the public JWK and the state, so no staff role that reads rows can read a private key.
One key signs at a time (``active``); rotating retires it, and what it signed still verifies because retired
keys stay in the JWK Set.  Withdrawing a compromised key removes it from the JWK Set and deletes its file:
every certificate it signed then verifies as INVALID, online and offline.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSEKey
from cwt.cose_key_interface import COSEKeyInterface
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.models import KeyState, SigningKey
from certkit import jwk_of, kid_of_public_key, kid_text
from certkit.trust import kid_bytes
from core.keyfiles import key_file_path, key_file_write

log = logging.getLogger(__name__)


def signing_key_create() -> SigningKey:
    """A new ES256 key that signs from now on; the one that signed before is retired.  Writes the private half
    first, so a crash leaves at worst an unused file, never a published key that nothing can sign with."""
    private = ec.generate_private_key(ec.SECP256R1())
    kid = kid_of_public_key(private.public_key())
    key_file_write(settings.CERTIFICATE_KEY_DIR, kid_text(kid), private)
    with transaction.atomic():
        now = timezone.now()
        SigningKey.objects.select_for_update().filter(state=KeyState.ACTIVE).update(state=KeyState.RETIRED,
                                                                                   retired_at=now)
        key = SigningKey.objects.create(kid=kid_text(kid), algorithm="ES256",
                                        public_jwk=jwk_of(private.public_key(), kid=kid))
    log.info("certificate signing key %s created; it signs from now on", key.kid)
    return key


def signing_key_active() -> SigningKey:
    """The key that signs now, created on first use (an embedded install signs without setup).  Raises
    ``ImproperlyConfigured`` when its private file is missing (a server without the mounted key directory)."""
    key = SigningKey.objects.filter(state=KeyState.ACTIVE).first()
    if key is None:
        try:
            key = signing_key_create()
        except IntegrityError:  # another process created one at the same moment
            key = SigningKey.objects.get(state=KeyState.ACTIVE)
    if not _key_path(key.kid).exists():
        raise ImproperlyConfigured(f"the private key of {key.kid} is not in CERTIFICATE_KEY_DIR "
                                   f"({settings.CERTIFICATE_KEY_DIR})")
    return key


def signing_key_withdraw(*, kid: str, reason: str) -> SigningKey:
    """Withdraw a compromised key: out of the JWK Set, its private file deleted.  A withdrawn active key is
    replaced by a new one.  ``ValidationError`` for an unknown key or no reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ValidationError(_("Say why the key is withdrawn."), code="required")})
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().filter(kid=kid).first()
        if key is None:
            raise ValidationError({"kid": ValidationError(_("No such key."), code="not_found")})
        was_active = key.state == KeyState.ACTIVE
        key.state, key.withdrawn_at, key.withdrawn_reason = KeyState.WITHDRAWN, timezone.now(), reason[:200]
        key.save(update_fields=["state", "withdrawn_at", "withdrawn_reason"])
    _key_path(kid).unlink(missing_ok=True)
    _private.cache_clear()
    log.warning("certificate signing key %s withdrawn: %s", kid, reason)
    if was_active:
        signing_key_create()
    return key


def jwks() -> dict:
    """The published JWK Set: every key that signs or signed, except the withdrawn."""
    keys = SigningKey.objects.exclude(state=KeyState.WITHDRAWN).order_by("created_at", "id")
    return {"keys": [key.public_jwk for key in keys]}


def signer(key: SigningKey) -> COSEKeyInterface:
    """The COSE signing key of ``key`` (read from its file once per process)."""
    return _private(key.kid)


@cache
def _private(kid: str) -> COSEKeyInterface:
    return COSEKey.from_pem(_key_path(kid).read_bytes(), alg="ES256", kid=kid_bytes(kid))


def _key_path(kid: str) -> Path:
    return key_file_path(settings.CERTIFICATE_KEY_DIR, kid)
