"""EV charging: what OneGrid, as the OCPP 1.6J central system, does with what a charger says.

Each function is one thing a charger reports (``parks.ocpp`` turns the protocol's messages into these calls) and
is idempotent where the protocol may repeat itself: a meter reading going backwards, a transaction stopped twice,
a transaction OneGrid never issued are refused or ignored with their reason (``ChargerMessage``), never applied
twice.  A session whose charger went silent is closed by ``sessions_close_silent`` (beat), so none stays open for
ever.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audiences import scope
from core.feed import change_record
from parks.keys import secret_digest
from parks.models import (
    Charger,
    ChargerMessage,
    ChargingSession,
    Connector,
    ConnectorStatus,
    Employee,
    EmployeeStatus,
    SessionStatus,
)
from parks.selectors import employment_in, staff_of

log = logging.getLogger(__name__)

#: How often a booted charger sends its heartbeat.
HEARTBEAT_SECONDS = 300
#: A session whose charger said nothing for this long is closed (aborted, ``charger_silent``).
SILENT_SESSION_HOURS = 12
#: An id tag OneGrid gives an employee's app to start a charge remotely: ``OG`` and the employee's number.
APP_TAG_PREFIX = "OG"


def charger_authenticate(*, identity: str, password: str | None) -> Charger | None:
    """The charger ``identity`` if ``password`` is its own (HTTP Basic, OCPP 1.6 security profile 1); None, and
    the refusal logged, otherwise.  Who may call: the OCPP endpoint, at the handshake."""
    charger = Charger.objects.filter(identity=identity).first()
    if charger is None or password is None or not hmac.compare_digest(charger.password_digest,
                                                                      secret_digest(password)):
        refusal_log(charger=charger, identity=identity, action="connect",
                    reason="unknown_charger" if charger is None else "bad_password")
        return None
    return charger


def refusal_log(*, charger: Charger | None, identity: str, action: str, reason: str, unique_id: str = "",
                detail: str = "") -> None:
    """Record something a charger sent that OneGrid refused or ignored, and why."""
    log.warning("charger %s: %s %s refused: %s %s", identity, action, unique_id, reason, detail)
    ChargerMessage.objects.create(charger=charger, identity=identity[:48], action=action[:40],
                                  unique_id=unique_id[:40], reason=reason[:40], detail=detail[:200])


def charger_connected(*, charger: Charger, connected: bool) -> None:
    Charger.objects.filter(pk=charger.pk).update(connected=connected, last_seen_at=timezone.now())


def charger_boot(*, charger: Charger, vendor: str, model: str, firmware: str = "") -> int:
    """A BootNotification: the charger's make, remembered; the heartbeat interval it is to keep."""
    Charger.objects.filter(pk=charger.pk).update(vendor=vendor[:20], model=model[:20], firmware=firmware[:50],
                                                 booted_at=timezone.now(), last_seen_at=timezone.now())
    return HEARTBEAT_SECONDS


def charger_heartbeat(*, charger: Charger) -> datetime:
    now = timezone.now()
    Charger.objects.filter(pk=charger.pk).update(last_seen_at=now)
    return now


def connector_status(*, charger: Charger, number: int, status: str, error_code: str, info: str = "",
                     at: datetime | None = None) -> Connector:
    """A StatusNotification: the connector's state (a fault with its code); the park's operator is told."""
    if status not in ConnectorStatus.values:
        status = ConnectorStatus.UNAVAILABLE
    with transaction.atomic():
        connector, _created = Connector.objects.update_or_create(
            charger=charger, number=number,
            defaults={"status": status, "error_code": error_code[:30], "info": (info or "")[:50],
                      "updated_at": at or timezone.now()})
        change_record(kind="charger.status", obj=charger, to=[scope("park", charger.park_id)],
                      facts={"connector": number, "status": status, "error": error_code})
    return connector


@dataclass(frozen=True)
class TagVerdict:
    #: OCPP's AuthorizationStatus: Accepted, Blocked, Expired, Invalid, ConcurrentTx.
    status: str
    employee: Employee | None = None


def id_tag_authorize(*, charger: Charger, id_tag: str) -> TagVerdict:
    """Whose tag ``id_tag`` is at ``charger``'s park: a working employee's charging card, or the tag OneGrid
    gave their app (``OG<employee>``).  Blocked or gone employees are ``Blocked``; anything else ``Invalid``."""
    employees = Employee.objects.select_related("user").filter(enterprise__park_id=charger.park_id)
    employee = employees.filter(card_id=id_tag).first()
    if employee is None and id_tag.startswith(APP_TAG_PREFIX) and id_tag[2:].isdigit():
        employee = employees.filter(pk=int(id_tag[2:])).first()
    if employee is None:
        return TagVerdict("Invalid")
    if employee.status != EmployeeStatus.ACTIVE:
        return TagVerdict("Blocked", employee)
    return TagVerdict("Accepted", employee)


@dataclass(frozen=True)
class Started:
    transaction_id: int
    status: str


def transaction_start(*, charger: Charger, connector: int, id_tag: str, meter_start: int, at: datetime) -> Started:
    """A StartTransaction: a session, its id the transaction id.  A tag that is not accepted still gets a
    transaction id (the protocol asks for one) but no session: the charger stops at once.  A connector with a
    session still open (its stop was lost) has it closed first, as aborted."""
    verdict = id_tag_authorize(charger=charger, id_tag=id_tag)
    if verdict.status != "Accepted":
        refusal_log(charger=charger, identity=charger.identity, action="StartTransaction",
                    reason=f"tag_{verdict.status.lower()}", detail=id_tag)
        return Started(transaction_id=0, status=verdict.status)
    with transaction.atomic():
        for stale in ChargingSession.objects.select_for_update().filter(charger=charger, connector=connector,
                                                                        status=SessionStatus.ACTIVE):
            _close(stale, at=at, meter=stale.meter_last, reason="superseded", status=SessionStatus.ABORTED)
        session = ChargingSession.objects.create(
            charger=charger, connector=connector, id_tag=id_tag, employee=verdict.employee, started_at=at,
            meter_start=meter_start, meter_last=meter_start, meter_last_at=at)
        _told(session, "charging.start")
    return Started(transaction_id=session.pk, status="Accepted")


def meter_values(*, charger: Charger, transaction_id: int | None, readings: list[tuple[datetime, int]],
                 unique_id: str = "") -> int:
    """MeterValues of a transaction: the energy register (Wh) moves forward only; a reading going backwards, or
    for a transaction that is not this charger's open one, is ignored and logged.  How many readings were taken."""
    if transaction_id is None:
        return 0  # readings outside a transaction: nothing to bill
    with transaction.atomic():
        session = ChargingSession.objects.select_for_update().filter(pk=transaction_id, charger=charger).first()
        if session is None or session.status != SessionStatus.ACTIVE:
            refusal_log(charger=charger, identity=charger.identity, action="MeterValues", unique_id=unique_id,
                        reason="unknown_transaction" if session is None else "transaction_closed",
                        detail=str(transaction_id))
            return 0
        taken = 0
        for at, wh in sorted(readings):
            if wh < session.meter_last:
                refusal_log(charger=charger, identity=charger.identity, action="MeterValues", unique_id=unique_id,
                            reason="meter_backwards", detail=f"{wh} Wh after {session.meter_last} Wh")
                continue
            session.meter_last, session.meter_last_at = wh, max(at, session.meter_last_at)
            taken += 1
        session.save(update_fields=["meter_last", "meter_last_at"])
    return taken


def transaction_stop(*, charger: Charger, transaction_id: int, meter_stop: int, at: datetime, reason: str = "",
                     unique_id: str = "") -> ChargingSession | None:
    """A StopTransaction: the session closed with its energy and cost.  Stopped twice, or a transaction never
    issued to this charger: ignored and logged (None)."""
    with transaction.atomic():
        session = ChargingSession.objects.select_for_update().filter(pk=transaction_id, charger=charger).first()
        if session is None or session.status != SessionStatus.ACTIVE:
            refusal_log(charger=charger, identity=charger.identity, action="StopTransaction", unique_id=unique_id,
                        reason="unknown_transaction" if session is None else "already_stopped",
                        detail=str(transaction_id))
            return None
        if meter_stop < session.meter_last:
            refusal_log(charger=charger, identity=charger.identity, action="StopTransaction", unique_id=unique_id,
                        reason="meter_backwards", detail=f"stop at {meter_stop} Wh after {session.meter_last} Wh")
            meter_stop = session.meter_last
        _close(session, at=at, meter=meter_stop, reason=reason or "Local", status=SessionStatus.COMPLETED)
    return session


def _close(session: ChargingSession, *, at: datetime, meter: int, reason: str, status: str) -> None:
    session.meter_last, session.stopped_at = meter, max(at, session.started_at)
    session.stop_reason, session.status = reason[:30], status
    tariff = session.charger.tariff_per_kwh
    if tariff is not None:
        session.cost = (Decimal(session.energy_wh) / 1000 * tariff).quantize(Decimal("0.01"), ROUND_HALF_UP)
    session.save(update_fields=["meter_last", "stopped_at", "stop_reason", "status", "cost"])
    _told(session, f"charging.{status}")


def _told(session: ChargingSession, kind: str) -> None:
    to = [scope("park", session.charger.park_id)]
    if session.employee_id:
        to.append(scope("user", session.employee.user_id))
    change_record(kind=kind, obj=session, to=to, facts={"energy_wh": session.energy_wh, "status": session.status})


def sessions_close_silent(*, hours: float = SILENT_SESSION_HOURS) -> int:
    """Close the sessions whose charger has said nothing of them for ``hours`` (aborted, ``charger_silent``, at
    their last reading): no session stays open for ever.  Who may call: the beat task.  How many."""
    cutoff = timezone.now() - timedelta(hours=hours)
    closed = 0
    for pk in ChargingSession.objects.filter(status=SessionStatus.ACTIVE, meter_last_at__lt=cutoff).values_list(
            "pk", flat=True):
        with transaction.atomic():
            session = (ChargingSession.objects.select_for_update(of=("self",)).select_related("charger", "employee")
                       .filter(pk=pk, status=SessionStatus.ACTIVE).first())
            if session is not None:
                _close(session, at=session.meter_last_at, meter=session.meter_last, reason="charger_silent",
                       status=SessionStatus.ABORTED)
                closed += 1
    return closed


def group_of(identity: str) -> str:
    """The channel-layer group of a charger's connection (``parks.ocpp`` joins it; remote commands go there)."""
    return f"ocpp.{identity}"


def charging_remote(*, actor, identity: str, command: str, connector: int = 1,
                    transaction_id: int | None = None) -> str:
    """Ask a connected charger to start or stop a charge (RemoteStart/StopTransaction), through the channel
    layer to whichever process holds its connection; the charger then starts or stops the transaction itself.

    Who may call: a working employee of the charger's park to start their own charge (with the tag OneGrid gives
    their app) and to stop it; the park's operator to stop any.  Returns the id tag (start) or ``stop``.  Raises
    ``ValidationError`` (``not_found``, ``not_connected``, ``not_a_choice``), ``PermissionDenied``."""
    charger = Charger.objects.select_related("park").filter(identity=identity).first()
    if charger is None:
        raise ValidationError({"charger": ValidationError(_("Charger not found."), code="not_found")})
    if command not in ("start", "stop"):
        raise ValidationError({"action": ValidationError(_("Start or stop."), code="not_a_choice")})
    employee = employment_in(actor, charger.park)
    if command == "start":
        if employee is None:
            raise PermissionDenied(_("Only an employee of this park may charge here."))
        message = {"type": "ocpp.remote", "command": "start", "id_tag": f"{APP_TAG_PREFIX}{employee.pk}",
                   "connector": connector}
    else:
        session = ChargingSession.objects.filter(pk=transaction_id, charger=charger,
                                                 status=SessionStatus.ACTIVE).first()
        if session is None:
            raise ValidationError({"transaction": ValidationError(_("No such charge in progress."),
                                                                  code="not_found")})
        mine = employee is not None and session.employee_id == employee.pk
        if not mine and staff_of(actor, charger.park) is None:
            raise PermissionDenied(_("Only the charge's employee or the park's operator may stop it."))
        message = {"type": "ocpp.remote", "command": "stop", "transaction_id": session.pk}
    if not Charger.objects.filter(pk=charger.pk, connected=True).exists():
        raise ValidationError({"charger": ValidationError(_("The charger is not connected."),
                                                          code="not_connected")})
    async_to_sync(get_channel_layer().group_send)(group_of(identity), message)
    return message.get("id_tag", "stop")


def charger_create(*, park, identity: str, name: str, password: str, tariff_per_kwh=None, building=None) -> Charger:
    """Register a charger with its password (only its digest is kept)."""
    try:
        return Charger.objects.create(park=park, identity=identity, name=name, building=building,
                                      password_digest=secret_digest(password), tariff_per_kwh=tariff_per_kwh)
    except IntegrityError as error:
        raise ValueError(f"a charger {identity!r} exists") from error
