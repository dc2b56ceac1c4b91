"""The status lists OneGrid publishes: an entry per certificate at a random index, signed on demand.

Every certificate gets an index drawn at random among the free ones of a list of ``STATUS_LIST_SIZE`` entries
(131,072 or more), so neither the index nor the fetch of a list tells which certificate, or when it was issued,
is being checked.  A status written here is in the database at once (online verification reads it there); the
signed list is made again when someone fetches it and it is behind, at most once per change.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import cbor2
from cwt import COSE
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from approvals.keys import signer, signing_key_active
from approvals.models import Certificate, CertificateStatus, StatusList
from certkit import StatusBits, StatusValue
from certkit.status import CLAIM_STATUS_LIST, CLAIM_TTL, HEADER_TYP, STATUS_LIST_TYP

#: What a certificate's status is in its list (expiry is in the certificate itself: it stays VALID here).
LIST_VALUE = {
    CertificateStatus.VALID: StatusValue.VALID,
    CertificateStatus.EXPIRED: StatusValue.VALID,
    CertificateStatus.SUSPENDED: StatusValue.SUSPENDED,
    CertificateStatus.REVOKED: StatusValue.INVALID,
    CertificateStatus.SUPERSEDED: StatusValue.SUPERSEDED,
    CertificateStatus.PENDING: StatusValue.SUSPENDED,  # not in force, may come into force
}
#: Random draws of a taken index before a list counts as full (at 90% full, all 64 miss with odds of 1 in 800).
_DRAWS = 64


def status_list_uri(number: int) -> str:
    return settings.PUBLIC_URL + reverse("status-list", args=[number])


def status_entry_allocate() -> tuple[StatusList, int]:
    """A free entry (its list and index) for a new certificate, inside the caller's transaction; opens a new list
    when the newest is (nearly) full."""
    status_list = StatusList.objects.select_for_update().order_by("-number").first()
    if status_list is not None:
        entries = Certificate.objects.filter(status_list=status_list)
        for _ in range(_DRAWS):
            index = secrets.randbelow(status_list.size)
            if not entries.filter(status_index=index).exists():
                return status_list, index
    number = status_list.number + 1 if status_list is not None else 1
    size = settings.STATUS_LIST_SIZE
    created = StatusList.objects.create(number=number, size=size, bits=2, data=bytes(StatusBits(size, 2).data))
    return created, secrets.randbelow(size)


def status_entry_write(certificate: Certificate) -> None:
    """Write ``certificate``'s status into its list entry, inside the caller's transaction."""
    if certificate.status_list_id is None:
        return
    status_list = StatusList.objects.select_for_update().get(pk=certificate.status_list_id)
    bits = StatusBits(status_list.size, status_list.bits, bytes(status_list.data))
    value = LIST_VALUE[certificate.status]
    if bits[certificate.status_index] != value:
        bits[certificate.status_index] = value
        status_list.data, status_list.version = bytes(bits.data), status_list.version + 1
        status_list.save(update_fields=["data", "version"])


def status_list_token(number: int) -> tuple[bytes, int] | None:
    """The signed list ``number`` and its time-to-live, made again if it is behind its statuses or older than
    half its time-to-live; None for no such list."""
    status_list = StatusList.objects.filter(number=number).first()
    if status_list is None:
        return None
    ttl = settings.STATUS_LIST_TTL_SECONDS
    now = timezone.now()
    if (status_list.token is not None and status_list.token_version == status_list.version
            and now - status_list.token_issued_at < timedelta(seconds=ttl / 2)):
        return bytes(status_list.token), ttl
    with transaction.atomic():
        status_list = StatusList.objects.select_for_update().get(pk=status_list.pk)
        if (status_list.token is None or status_list.token_version != status_list.version
                or now - status_list.token_issued_at >= timedelta(seconds=ttl / 2)):
            status_list.token = _sign(status_list, now)
            status_list.token_version, status_list.token_issued_at = status_list.version, now
            status_list.save(update_fields=["token", "token_version", "token_issued_at"])
    return bytes(status_list.token), ttl


def _sign(status_list: StatusList, now) -> bytes:
    key = signing_key_active()
    issued = int(now.timestamp())
    claims = {
        2: status_list_uri(status_list.number),
        6: issued,
        4: issued + settings.STATUS_LIST_VALID_SECONDS,
        CLAIM_TTL: settings.STATUS_LIST_TTL_SECONDS,
        CLAIM_STATUS_LIST: {"bits": status_list.bits,
                            "lst": StatusBits(status_list.size, status_list.bits, bytes(status_list.data)).compressed()},
    }
    private = signer(key)
    return COSE.new().encode_and_sign(cbor2.dumps(claims), private,
                                      protected={1: -7, 4: private.kid, HEADER_TYP: STATUS_LIST_TYP})
