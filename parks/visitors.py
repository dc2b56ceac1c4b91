"""Visitors: an employee invites someone for some buildings or gates within a window; the visitor has no app, so
their code is shown on a page whose link the host forwards (or as a picture of it); the invitation can be withdrawn.

The visitor's "phone" is that page: its device key is derived from the link's secret (Django's ``salted_hmac``
over ``SECRET_KEY``), so nothing that signs the visitor's codes is stored (changing ``SECRET_KEY`` voids the
visitor pages out: invite again); the credential is an ordinary one, for
the invited places, from the window's start to its end, checked by the same rule at every gate.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ed25519
from cwt import COSEKey
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from certkit import jwk_of
from core.audiences import scope
from core.feed import change_record
from parks.models import Building, Gate, Invitation, Park, PassCredential, SubjectKind
from parks.plates import PlateInvalid, plate_parse
from parks.selectors import employment_in, staff_of
from parks.services import credential_create, credentials_revoke, employee_buildings
from passkit import Access, Role, pass_code

#: The longest visit an invitation may cover.
MAX_VISIT = timedelta(days=14)
MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class Invited:
    invitation: Invitation
    #: The link to the visitor's page (shown once, to the host: only its digest is kept).
    link: str


def invitation_create(*, actor, park: Park, visitor_name: str, visitor_phone: str, purpose: str,
                      valid_from: datetime, valid_until: datetime, building_ids=(), gate_ids=(),
                      visitor_plate: str = "") -> Invited:
    """Invite a visitor to ``park``: for the given buildings and gates (none given: the host's own buildings),
    from ``valid_from`` to ``valid_until``; coming by car (``visitor_plate``), the car parks' barriers let the
    plate in during the visit.

    Who may call: a working employee of an enterprise of ``park`` (the host).  Raises ``PermissionDenied``,
    ``ValidationError`` (``required``, ``too_long``, ``invalid_phone``, ``invalid_window``, ``too_long_visit``,
    ``invalid_plate``, ``not_found`` for a building or gate of no such park).
    """
    host = employment_in(actor, park)
    if host is None:
        raise PermissionDenied(_("Only an employee of this park may invite a visitor."))
    errors = {}
    visitor_name, purpose = (visitor_name or "").strip(), (purpose or "").strip()
    visitor_phone = re.sub(r"[\s-]", "", visitor_phone or "")
    for field, value, limit in (("visitor_name", visitor_name, 60), ("purpose", purpose, 200)):
        if not value:
            errors[field] = ValidationError(_("This field is required."), code="required")
        elif len(value) > limit:
            errors[field] = ValidationError(_("At most %(limit)d characters.") % {"limit": limit}, code="too_long")
    if not MOBILE.match(visitor_phone):
        errors["visitor_phone"] = ValidationError(_("Enter a mainland mobile number of 11 digits."),
                                                  code="invalid_phone")
    if visitor_plate:
        try:
            visitor_plate = plate_parse(visitor_plate).text
        except PlateInvalid as error:
            errors["visitor_plate"] = ValidationError(error.message, code="invalid_plate")
    now = timezone.now()
    if valid_until <= valid_from or valid_until <= now:
        errors["valid_until"] = ValidationError(_("The visit must end after it starts, and in the future."),
                                                code="invalid_window")
    elif valid_until - valid_from > MAX_VISIT:
        errors["valid_until"] = ValidationError(_("A visit lasts at most 14 days."), code="too_long_visit")
    buildings = list(Building.objects.filter(park=park, pk__in=list(building_ids)))
    gates = list(Gate.objects.filter(park=park, pk__in=list(gate_ids), active=True))
    if len(buildings) != len(set(building_ids)) or len(gates) != len(set(gate_ids)):
        errors["places"] = ValidationError(_("A building or gate is not in this park."), code="not_found")
    if errors:
        raise ValidationError(errors)
    if not buildings and not gates:
        buildings = list(Building.objects.filter(park=park, code__in=employee_buildings(host)))
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        invitation = Invitation.objects.create(park=park, host=host, visitor_name=visitor_name,
                                               visitor_phone=visitor_phone, purpose=purpose, valid_from=valid_from,
                                               visitor_plate=visitor_plate or "",
                                               valid_until=valid_until, token_digest=_digest(token))
        invitation.buildings.set(buildings)
        invitation.gates.set(gates)
        access = Access(role=Role.VISITOR, buildings=frozenset(b.code for b in buildings),
                        gates=frozenset(g.code for g in gates), not_before=int(valid_from.timestamp()))
        credential_create(park=park, public=_visitor_key(token).public_key(), access=access, now=now,
                           expires=valid_until, invitation=invitation, subject_kind=SubjectKind.VISITOR)
        change_record(kind="invitation.create", obj=invitation, to=[scope("park", park.pk),
                                                                    scope("user", host.user_id)])
    return Invited(invitation=invitation, link=settings.PUBLIC_URL + reverse("visitor-pass", args=[token]))


def invitation_withdraw(*, actor, invitation_id: int) -> Invitation:
    """Withdraw an invitation: its code is refused at once online, at the next sync offline.

    Who may call: the host, and the operator's staff of the park.  Raises ``ValidationError(not_found)`` (also
    for an invitation the actor may not see), ``PermissionDenied``.
    """
    with transaction.atomic():
        invitation = (Invitation.objects.select_for_update().select_related("park", "host")
                      .filter(pk=invitation_id).first())
        if invitation is None or (invitation.host.user_id != actor.pk and staff_of(actor, invitation.park) is None
                                  and not actor.is_superuser):
            raise ValidationError(_("Invitation not found."), code="not_found")
        if invitation.withdrawn_at is None:
            invitation.withdrawn_at = timezone.now()
            invitation.save(update_fields=["withdrawn_at"])
            credentials_revoke(invitation.park, PassCredential.objects.filter(invitation=invitation), reason="withdrawn")
            change_record(kind="invitation.withdraw", obj=invitation,
                          to=[scope("park", invitation.park_id), scope("user", invitation.host.user_id)])
    return invitation


@dataclass(frozen=True)
class VisitorPass:
    invitation: Invitation
    #: The code to show now; empty when the invitation is withdrawn, over, or not yet open.
    code: str
    #: ``ok``, ``withdrawn``, ``over`` or ``not_yet``.
    state: str
    #: Seconds until the code changes.
    refresh_in: int


def visitor_pass(*, token: str, now: float | None = None) -> VisitorPass | None:
    """What the visitor's page shows for the link's ``token``: the invitation and the current code; None for a
    link that names no invitation.  Who may call: anyone holding the link."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        return None
    invitation = (Invitation.objects.select_related("park", "host__enterprise", "host__user")
                  .prefetch_related("buildings", "gates").filter(token_digest=_digest(token)).first())
    if invitation is None:
        return None
    moment = timezone.now().timestamp() if now is None else now
    step = settings.PASS_STEP_SECONDS
    refresh = int(step - moment % step) or step
    if invitation.withdrawn_at is not None:
        return VisitorPass(invitation, "", "withdrawn", refresh)
    if moment >= invitation.valid_until.timestamp():
        return VisitorPass(invitation, "", "over", refresh)
    credential = invitation.credentials.filter(revoked_at__isnull=True).order_by("-issued_at").first()
    if credential is None:
        return VisitorPass(invitation, "", "withdrawn", refresh)
    state = "not_yet" if moment < invitation.valid_from.timestamp() else "ok"
    device = COSEKey.from_jwk({**jwk_of(_visitor_key(token).public_key(), kid=b"device"),
                               "d": _b64(_visitor_seed(token))})
    code = pass_code(credential=bytes(credential.token), device_key=device, now=moment, step_seconds=step)
    return VisitorPass(invitation, code, state, refresh)


def _visitor_seed(token: str) -> bytes:
    return salted_hmac("onegrid.parks.visitor-device", token, algorithm="sha256").digest()


def _visitor_key(token: str) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(_visitor_seed(token))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
