"""Every write of the parks: phones provisioned with a credential, employees blocked or gone, codes passed at a
gate online, offline gates' logs taken in, the revocations a gate syncs.

A passage is decided by ``passkit`` (the same verifier and rule an offline gate runs), then by what only the
database knows: the credential revoked, the employee blocked, the invitation withdrawn, the same code already
through this gate and direction in its step (a unique constraint, whichever process decided).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cwt import COSEKey
from cwt.cose_key_interface import COSEKeyInterface
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from certkit import TrustList, jwk_of
from core.audiences import scope
from core.feed import change_record
from core.services import notification_send
from parks.keys import park_jwks, park_key_active, park_signer
from parks.models import (
    Employee,
    EmployeeStatus,
    Gate,
    Park,
    ParkStaff,
    Passage,
    PassageMode,
    PassageResult,
    PassCredential,
    Presence,
    StaffRole,
    SubjectKind,
)
from parks.selectors import employment_in, staff_of
from passkit import DIRECTIONS, Access, GateKind, GateRule, GateVerifier, Role, credential_issue
from passkit.rules import windows_parse
from passkit.sync import MAX_UPLOAD_ENTRIES, SyncError, bundle_sign, upload_open, upload_read

log = logging.getLogger(__name__)

#: How long after its expiry a revoked credential stays in the full list a gate syncs (a gate's clock may lag).
REVOKED_LIST_GRACE = timedelta(days=1)
#: An offline gate's passage older than this, or later than the server's clock by more, is refused.
UPLOAD_MAX_AGE = timedelta(days=30)
UPLOAD_MAX_AHEAD = timedelta(minutes=5)


# --- credentials ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Provisioned:
    credential: PassCredential
    #: The CWT the phone shows inside every code.
    token: bytes
    #: The device's private key (PKCS#8 PEM) when the server made it for a phone that could not; None otherwise.
    private_key_pem: str | None


def credential_provision(*, user, park: Park, device_public_key: str | None = None) -> Provisioned:
    """Provision ``user``'s phone for ``park``: a credential binding the phone's Ed25519 public key
    (``device_public_key``: a JWK as JSON, or the 32 raw bytes in base64url), or a key made here and returned
    once (never kept).  Provisioning again is the rotation: the credential before is revoked at once.

    Who may call: the operator's staff of ``park`` and its enterprises' working employees, for themselves.
    Raises ``PermissionDenied`` for anyone else (a blocked employee included), ``ValidationError`` with
    ``invalid_key`` for a key that is not an Ed25519 public key.
    """
    staff = staff_of(user, park)
    employee = None if staff is not None else employment_in(user, park)
    if staff is None and employee is None:
        raise PermissionDenied(_("You do not work in this park."))
    private_pem = None
    if device_public_key:
        public = _device_key(device_public_key)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        public = private.public_key()
        private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode("ascii")
    if staff is not None:
        subject, access = {"staff": staff, "subject_kind": SubjectKind.STAFF}, Access(role=Role.OPERATOR)
    else:
        subject = {"employee": employee, "subject_kind": SubjectKind.EMPLOYEE}
        access = Access(role=Role.EMPLOYEE, buildings=frozenset(employee_buildings(employee)))
    now = timezone.now()
    with transaction.atomic():
        current = PassCredential.objects.filter(revoked_at__isnull=True, expires_at__gt=now,
                                                **{key: value for key, value in subject.items()
                                                   if key != "subject_kind"})
        credentials_revoke(park, current, reason="rotated")
        credential, token = credential_create(park=park, public=public, access=access, now=now,
                                               expires=now + timedelta(days=settings.PASS_CREDENTIAL_DAYS),
                                               **subject)
    return Provisioned(credential=credential, token=token, private_key_pem=private_pem)


def credential_create(*, park: Park, public, access: Access, now: datetime, expires: datetime,
                       **subject) -> tuple[PassCredential, bytes]:
    """A credential row for ``public`` and the CWT the park signs for it (its subject claim names the row)."""
    credential_id = secrets.token_bytes(16)
    jwk = jwk_of(public, kid=b"device")
    credential = PassCredential.objects.create(park=park, credential_id=credential_id.hex(), device_jwk=jwk,
                                               issued_at=now, expires_at=expires, **subject)
    credential.token = credential_issue(
        park_key=park_signer(park_key_active(park=park)), park=park.code, subject=credential.subject,
        device_key=COSEKey.from_jwk(jwk), credential_id=credential_id, issued_at=int(now.timestamp()),
        expires_at=int(expires.timestamp()), access=access, step_seconds=settings.PASS_STEP_SECONDS)
    credential.save(update_fields=["token"])
    return credential, bytes(credential.token)


def _device_key(text: str):
    """An Ed25519 public key from a JWK (JSON) or 32 raw bytes in base64url; ``ValidationError`` otherwise."""
    invalid = ValidationError({"public_key": ValidationError(
        _("The device key must be an Ed25519 public key: a JWK, or 32 bytes in base64url."), code="invalid_key")})
    text = text.strip()
    if len(text) > 2000:
        raise invalid
    try:
        if text.startswith("{"):
            jwk = json.loads(text)
            if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
                raise invalid
            raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        else:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if len(raw) != 32:
            raise invalid
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError, KeyError):
        raise invalid from None


def employee_buildings(employee: Employee) -> set[str]:
    codes = set(employee.enterprise.buildings.values_list("code", flat=True))
    if employee.building_id is not None:
        codes.add(employee.building.code)
    return codes


def credentials_revoke(park: Park, credentials, *, reason: str) -> int:
    """Revoke ``credentials`` (a queryset of ``park``'s) under one new revocation version, inside the caller's
    transaction; how many."""
    ids = list(credentials.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    if not ids:
        return 0
    Park.objects.filter(pk=park.pk).update(revocation_version=F("revocation_version") + 1)
    version = Park.objects.values_list("revocation_version", flat=True).get(pk=park.pk)
    PassCredential.objects.filter(pk__in=ids).update(revoked_at=timezone.now(), revoked_reason=reason,
                                                     revoked_version=version)
    return len(ids)


def employee_status_set(*, actor, employee_id: int, status: str, reason: str = "") -> Employee:
    """Block an employee, record that they left, or let them work again.  Blocking and leaving revoke their
    credentials at once: online gates refuse them now, offline gates at their next sync.

    Who may call: the operator's staff of the employee's park.  Raises ``PermissionDenied``, ``ValidationError``
    (``not_found``, ``not_a_choice``, ``required`` for a block without a reason).
    """
    if status not in EmployeeStatus.values:
        raise ValidationError({"status": ValidationError(_("Not a status."), code="not_a_choice")})
    reason = (reason or "").strip()[:200]
    if status == EmployeeStatus.BLOCKED and not reason:
        raise ValidationError({"reason": ValidationError(_("Say why the employee is blocked."), code="required")})
    with transaction.atomic():
        employee = (Employee.objects.select_for_update().select_related("enterprise__park", "user")
                    .filter(pk=employee_id).first())
        if employee is None:
            raise ValidationError(_("Employee not found."), code="not_found")
        park = employee.enterprise.park
        if staff_of(actor, park) is None and not actor.is_superuser:
            raise PermissionDenied(_("Only the park operator's staff may change an employee's status."))
        employee.status, employee.status_reason = status, reason
        employee.status_changed_at = timezone.now()
        employee.save(update_fields=["status", "status_reason", "status_changed_at"])
        if status != EmployeeStatus.ACTIVE:
            credentials_revoke(park, PassCredential.objects.filter(employee=employee), reason=status)
        change_record(kind=f"employee.{status}", obj=employee,
                      to=[scope("park", park.pk), scope("user", employee.user_id)], facts={"status": status})
    return employee


# --- gates ---------------------------------------------------------------------------------------------------------

def gate_rule(gate: Gate) -> GateRule:
    """``gate`` as ``passkit.rules`` sees it (its building read through ``gate.building``)."""
    return GateRule(code=gate.code, kind=gate.kind, building=gate.building.code if gate.building_id else None,
                    windows=windows_parse(gate.windows or []), utc_offset_minutes=_utc_offset())


def _utc_offset() -> int:
    offset = timezone.localtime().utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


class _Verifiers:
    """One ``GateVerifier`` per park per process, holding the park's JWK Set (read again every minute, and at
    once when a code names a key it does not know): the credentials it verified stay cached across requests."""

    REFRESH_SECONDS = 60.0

    def __init__(self) -> None:
        self._verifiers: dict[int, tuple[float, dict, GateVerifier]] = {}

    def of(self, park: Park, *, fresh: bool = False) -> GateVerifier:
        known = self._verifiers.get(park.pk)
        if known is not None and not fresh and time.monotonic() - known[0] < self.REFRESH_SECONDS:
            return known[2]
        jwks = park_jwks(park=park)
        if known is not None and known[1] == jwks:
            verifier = known[2]
        else:
            verifier = GateVerifier(park=park.code, keys=TrustList.from_jwks(jwks),
                                    drift_steps=settings.PASS_DRIFT_STEPS)
        self._verifiers[park.pk] = (time.monotonic(), jwks, verifier)
        return verifier

    def clear(self) -> None:
        self._verifiers.clear()


verifiers = _Verifiers()


def gate_pass(*, actor, gate_id: int, code: str, direction: str, now: float | None = None) -> Passage:
    """Decide a code scanned at a gate that is online, log the passage (passed or refused, with the reason) and
    return it.  The rule and the verifier are the offline gate's; the database adds what it alone knows.

    Who may call: the operator's staff of the gate's park (a gate controller signs in as one).  Raises
    ``PermissionDenied``, ``ValidationError`` (``not_found`` gate, ``not_a_choice`` direction); a refused code is
    not an error: its passage says why.
    """
    if direction not in DIRECTIONS:
        raise ValidationError({"direction": ValidationError(_("The direction is in or out."), code="not_a_choice")})
    gates = Gate.objects.select_related("park", "building").filter(pk=gate_id, active=True)
    if not actor.is_superuser:  # the gate and the actor's place on its park's staff, in one query
        gates = gates.annotate(staffed=Exists(ParkStaff.objects.filter(park=OuterRef("park"), user=actor,
                                                                       active=True)))
    gate = gates.first()
    if gate is None:
        raise ValidationError({"gate": ValidationError(_("Gate not found."), code="not_found")})
    if not actor.is_superuser and not gate.staffed:
        raise PermissionDenied(_("Only the park's gates and operator staff may pass codes."))
    now = time.time() if now is None else now
    verdict = verifiers.of(gate.park).check(code, gate=gate_rule(gate), now=now)
    if verdict.reason == "unknown_key":  # a key made since this process read the JWK Set
        verdict = verifiers.of(gate.park, fresh=True).check(code, gate=gate_rule(gate), now=now)
    credential = None
    reason = verdict.reason
    if verdict.credential_id is not None:
        credential = next(iter(credentials_with_holders().filter(credential_id=verdict.credential_id.hex(),
                                                                 park=gate.park)[:1]), None)
        if verdict.ok:
            reason = _live_refusal(credential) or "ok"
    return passage_record(gate=gate, direction=direction, at=datetime.fromtimestamp(now, UTC),
                          passed=reason == "ok", reason=reason, drift=verdict.drift, step=verdict.step,
                          credential=credential, mode=PassageMode.ONLINE)


def credentials_with_holders():
    """Credentials with what deciding and logging a passage needs of their holder, and nothing more, unordered:
    one narrow query on every scan (the wide one, every column of seven tables, cost five times as long)."""
    return PassCredential.objects.select_related("employee__user", "staff__user", "invitation").only(
        "park_id", "credential_id", "subject_kind", "employee_id", "staff_id", "invitation_id", "revoked_at",
        "employee__status", "employee__user_id", "employee__user__username", "employee__user__display_name",
        "staff__active", "staff__user_id", "staff__user__username", "staff__user__display_name",
        "invitation__withdrawn_at", "invitation__visitor_name", "invitation__host_id").order_by()


def _live_refusal(credential: PassCredential | None) -> str | None:
    """What the database says against a code the kit accepted: None when nothing."""
    if credential is None:
        return "unknown_credential"
    if credential.revoked_at is not None:
        return "revoked"
    if credential.employee is not None and credential.employee.status != EmployeeStatus.ACTIVE:
        return credential.employee.status  # blocked, left
    if credential.staff is not None and not credential.staff.active:
        return "left"
    if credential.invitation is not None and credential.invitation.withdrawn_at is not None:
        return "withdrawn"
    return None


def passage_record(*, gate: Gate, direction: str, at: datetime, passed: bool, reason: str, drift: int,
                   step: int | None, credential: PassCredential | None, mode: str, gate_entry: str = "") -> Passage:
    """Log one passage, move the person's presence (a later passage wins, whenever it arrives), tell the park's
    operator, the person and, for a visitor who passed, their host.  A pass of a code already through this gate
    and direction in its step is logged as refused, ``replayed``.  Who may call: this module's services."""
    fields = {"park_id": gate.park_id, "gate": gate, "direction": direction, "at": at, "drift": drift, "step": step,
              "mode": mode, "credential": credential, "gate_entry": gate_entry}
    if credential is not None:
        fields.update(subject_kind=credential.subject_kind, employee_id=credential.employee_id,
                      staff_id=credential.staff_id, invitation_id=credential.invitation_id,
                      person=_name_of(credential)[:100])
    with transaction.atomic():
        try:
            with transaction.atomic():
                passage = Passage.objects.create(result=PassageResult.PASSED if passed else PassageResult.REFUSED,
                                                 reason=reason[:20], **fields)
        except IntegrityError:
            if not passed or (gate_entry and Passage.objects.filter(gate=gate, gate_entry=gate_entry).exists()):
                raise
            passage = Passage.objects.create(result=PassageResult.REFUSED, reason="replayed", **fields)
        if passage.result == PassageResult.PASSED and credential is not None:
            _presence_move(passage, credential)
        to = [scope("park", gate.park_id)]
        person = _person_of(credential)
        if person is not None:
            to.append(scope("user", person))
        host = (Employee.objects.select_related("user").get(pk=credential.invitation.host_id)
                if credential is not None and credential.invitation_id else None)
        if host is not None:
            to.append(scope("user", host.user_id))
        change_record(kind=f"passage.{passage.result}", obj=passage, to=to,
                      facts={"gate": gate.code, "direction": direction, "reason": passage.reason})
        if host is not None and passage.result == PassageResult.PASSED:
            invitation = credential.invitation
            notification_send(recipient=host.user, source=f"passage:{passage.pk}",
                              title=_("Your visitor %(name)s passed %(gate)s") % {"name": invitation.visitor_name,
                                                                                 "gate": gate.name},
                              body=timezone.localtime(at).strftime("%Y-%m-%d %H:%M"))
    return passage


def _name_of(credential: PassCredential) -> str:
    if credential.employee_id:
        return str(credential.employee.user)
    if credential.staff_id:
        return str(credential.staff.user)
    return credential.invitation.visitor_name


def _person_of(credential: PassCredential | None) -> int | None:
    if credential is None:
        return None
    if credential.employee_id:
        return credential.employee.user_id
    if credential.staff_id:
        return credential.staff.user_id
    return None


def _presence_move(passage: Passage, credential: PassCredential) -> None:
    """The person's presence after ``passage``, unless a later passage of theirs is already in (an offline gate's
    log arriving late): in through a building's door, in that building; out of it, in the park; through an
    entrance or a barrier, in the park or gone; a canteen keeps them where they are (in its building on the way in).

    One upsert, whose WHERE keeps the later passage's word (PostgreSQL and SQLite alike): a passage is on the
    gate's critical path, and the read-then-write it replaces took seven statements."""
    gate, entering = passage.gate, passage.direction == "in"
    keep_building = False
    if gate.kind == GateKind.BUILDING:
        inside, building = True, gate.building_id if entering else None
    elif gate.kind in (GateKind.ENTRANCE, GateKind.PARKING):
        inside, building = entering, None
    else:  # a canteen
        inside, building = True, gate.building_id
        keep_building = not entering or gate.building_id is None
    table = connection.ops.quote_name(Presence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (park_id, subject, building_id, inside, at) VALUES (%s, %s, %s, %s, %s) "
            f"ON CONFLICT (park_id, subject) DO UPDATE SET inside = excluded.inside, at = excluded.at, "
            f"building_id = CASE WHEN %s THEN {table}.building_id ELSE excluded.building_id END "
            f"WHERE {table}.at < excluded.at",
            [passage.park_id, credential.subject, None if keep_building else building, inside, passage.at,
             keep_building])


# --- what gates sync and upload ------------------------------------------------------------------------------------

def gate_bundle(*, park: Park, gate: Gate, since: int) -> bytes:
    """The signed bundle a gate syncs: its rule and the credentials revoked after version ``since`` (every revoked
    credential still in date when ``since`` is negative, a gate that holds no list, or ahead of the park's
    version, which a server restored from an older backup shows).
    Who may call: anyone (gates fetch it over HTTP or MQTT; it names no one: credential ids are random)."""
    park.refresh_from_db(fields=["revocation_version"])
    version = park.revocation_version
    revoked = PassCredential.objects.filter(park=park, revoked_version__isnull=False)
    full = since < 0 or since > version
    if full:
        revoked = revoked.filter(expires_at__gt=timezone.now() - REVOKED_LIST_GRACE)
    else:
        revoked = revoked.filter(revoked_version__gt=since)
    ids = [bytes.fromhex(value) for value in revoked.values_list("credential_id", flat=True)]
    key = park_key_active(park=park)
    Gate.objects.filter(pk=gate.pk).update(last_seen_at=timezone.now())
    return bundle_sign(park_key=park_signer(key), park=park.code, rule=gate_rule(gate), version=version,
                       since=0 if full else since, full=full, revoked=ids, issued_at=int(time.time()))


@dataclass(frozen=True)
class UploadResult:
    gate: Gate
    accepted: int
    duplicates: int
    #: Entries refused one by one: ``(entry id or index, reason)``.
    refused: tuple[tuple[str, str], ...]
    #: The entry ids now stored (new or before): what the gate may delete from its log.
    stored: tuple[str, ...]


def passages_upload(*, data: bytes) -> UploadResult:
    """Take an offline gate's signed log: each entry stored once (by the gate's entry id), whatever the order
    and however often it is sent; presences move only forward in time.

    Who may call: anyone (HTTP or the MQTT bridge); the gate's enrolled key must have signed it.  Raises
    ``SyncError`` (``malformed``, ``unknown_gate``, ``bad_signature``, ``too_large``, ...): the whole upload is
    refused and logged.
    """
    park_code, gate_code, _message = upload_open(data)
    gate = (Gate.objects.select_related("park", "building").filter(park__code=park_code, code=gate_code)
            .exclude(public_jwk=None).first())
    if gate is None:
        log.warning("passage upload refused: no enrolled gate %s/%s", park_code, gate_code)
        raise SyncError("unknown_gate")
    try:
        upload = upload_read(data, gate_key=_gate_key(gate))
    except SyncError as error:
        log.warning("passage upload refused from gate %s/%s: %s", park_code, gate_code, error.reason)
        raise
    entries, refused = [], []
    now = timezone.now()
    for index, entry in enumerate(upload.entries[:MAX_UPLOAD_ENTRIES]):
        reason = _entry_refusal(entry, now)
        if reason is None:
            entries.append(entry)
        else:
            refused.append((str(entry.get("id", index))[:40], reason))
    ids = [entry["id"] for entry in entries]
    known = set(Passage.objects.filter(gate=gate, gate_entry__in=ids).values_list("gate_entry", flat=True))
    credentials = {credential.credential_id: credential for credential in credentials_with_holders().filter(
        park=gate.park, credential_id__in=[entry["credential"].hex() for entry in entries if entry["credential"]])}
    accepted = 0
    for entry in sorted(entries, key=lambda item: item["at"]):
        if entry["id"] in known:
            continue
        known.add(entry["id"])
        credential = credentials.get(entry["credential"].hex()) if entry["credential"] else None
        try:
            passage_record(gate=gate, direction=entry["direction"], passed=bool(entry["ok"]),
                           reason=entry["reason"], at=datetime.fromtimestamp(entry["at"], UTC),
                           drift=entry["drift"], step=entry["step"], credential=credential,
                           mode=PassageMode.OFFLINE, gate_entry=entry["id"])
        except IntegrityError:  # the same entry in a concurrent upload of the same log
            continue
        accepted += 1
    Gate.objects.filter(pk=gate.pk).update(last_seen_at=now)
    duplicates = len(entries) - accepted
    log.info("gate %s/%s uploaded %d passages (%d new, %d already in, %d refused)", park_code, gate_code,
             len(upload.entries), accepted, duplicates, len(refused))
    return UploadResult(gate=gate, accepted=accepted, duplicates=duplicates, refused=tuple(refused),
                        stored=tuple(ids))


def _entry_refusal(entry: dict, now: datetime) -> str | None:
    """Why one entry of an upload cannot be taken; None when it can."""
    try:
        entry_id, at = entry["id"], entry["at"]
        if not (isinstance(entry_id, str) and 0 < len(entry_id) <= 40):
            return "malformed"
        if not isinstance(at, int | float) or isinstance(at, bool):
            return "malformed"
        if entry["direction"] not in DIRECTIONS or not isinstance(entry["ok"], bool):
            return "malformed"
        if not (isinstance(entry["reason"], str) and len(entry["reason"]) <= 20):
            return "malformed"
        if not isinstance(entry.get("drift", 0), int) or not isinstance(entry.get("step"), int | None):
            return "malformed"
        if entry.get("credential") is not None and not isinstance(entry["credential"], bytes):
            return "malformed"
        entry.setdefault("drift", 0)
        entry.setdefault("step", None)
        entry.setdefault("credential", None)
        moment = datetime.fromtimestamp(at, UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return "malformed"
    if moment > now + UPLOAD_MAX_AHEAD:
        return "future"
    if moment < now - UPLOAD_MAX_AGE:
        return "too_old"
    return None


def _gate_key(gate: Gate) -> COSEKeyInterface:
    return COSEKey.from_jwk({**gate.public_jwk, "alg": "EdDSA"})


def gate_enrol(*, gate: Gate, public_key) -> Gate:
    """Enrol ``gate``'s own key (a ``cryptography`` Ed25519 public key): what it uploads must be signed by it.
    Enrolling again replaces the key (a replaced gate).  Who may call: the ``park_gate enrol`` command."""
    gate.public_jwk = jwk_of(public_key, kid=f"gate:{gate.park.code}:{gate.code}".encode())
    gate.enrolled_at = timezone.now()
    gate.save(update_fields=["public_jwk", "enrolled_at"])
    return gate


def staff_add(*, park: Park, user, role: str = StaffRole.OPERATOR) -> ParkStaff:
    """Make ``user`` a member of ``park``'s staff in ``role`` (again: active, in that role)."""
    staff, _created = ParkStaff.objects.update_or_create(park=park, user=user,
                                                         defaults={"active": True, "role": role})
    return staff
