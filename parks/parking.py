"""Parking: employees' registered vehicles, vehicles at the barriers, stays and overstays.

A barrier's controller reports each vehicle with its camera's snapshot (``barrier_event_report``); the plate reader
(``vision.plates``) reads it on the ``vision`` queue (``parks.tasks``), and ``barrier_event_read`` takes what it
read; the barrier decides from the plate,
the registrations and the visitors' invitations (``barrier_verdict``).  A plate the reader is not sure of never
becomes a guess: the event waits in the operator's queue (``parks.selectors.barrier_queue``) until the operator
reads the snapshot (``barrier_event_resolve``).  Every step is a change on the feed (the park's operator and the
reporting controller hear it), so the controller learns the decision by subscription.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audiences import scope
from core.feed import change_record
from core.files import file_discard, file_ingest, file_kind, file_store
from core.outbox import task_enqueue
from parks.models import (
    BarrierEvent,
    BarrierState,
    Direction,
    EmployeeStatus,
    Gate,
    GateKind,
    Invitation,
    Park,
    ParkingArea,
    ParkingStay,
    PassageResult,
    StaffRole,
    Vehicle,
)
from parks.plates import PlateInvalid, plate_parse
from parks.selectors import employment_in, staff_of

log = logging.getLogger(__name__)

SNAPSHOT_KIND = "barrier_snapshot"
#: How many vehicles an employee may register.
VEHICLES_PER_EMPLOYEE = 3
#: A barrier's clock may be this far ahead of the server's; an event older than REPORT_MAX_AGE is refused.
REPORT_MAX_AHEAD = timedelta(minutes=5)
REPORT_MAX_AGE = timedelta(days=1)


def _plate(text: str, field: str = "plate") -> str:
    try:
        return plate_parse(text).text
    except PlateInvalid as error:
        raise ValidationError({field: ValidationError(error.message, code="invalid_plate")}) from None


# --- registered vehicles -------------------------------------------------------------------------------------------

def vehicle_register(*, actor, park: Park, plate: str) -> Vehicle:
    """Register a vehicle of ``actor``, a working employee of ``park``: its barriers let the plate in.

    Raises ``PermissionDenied`` for anyone else, ``ValidationError`` with ``invalid_plate``, ``too_many``
    (``VEHICLES_PER_EMPLOYEE``) or ``plate_taken`` (registered by someone in this park)."""
    employee = employment_in(actor, park)
    if employee is None:
        raise PermissionDenied(_("Only an employee of this park may register a vehicle here."))
    plate = _plate(plate)
    with transaction.atomic():
        if Vehicle.objects.select_for_update().filter(employee=employee).count() >= VEHICLES_PER_EMPLOYEE:
            raise ValidationError({"plate": ValidationError(
                _("You have registered %(count)d vehicles, the most allowed; remove one first.")
                % {"count": VEHICLES_PER_EMPLOYEE}, code="too_many")})
        try:
            with transaction.atomic():
                return Vehicle.objects.create(park=park, employee=employee, plate=plate)
        except IntegrityError:
            raise ValidationError({"plate": ValidationError(
                _("%(plate)s is already registered in this park.") % {"plate": plate}, code="plate_taken")}) from None


def vehicle_remove(*, actor, vehicle: Vehicle) -> None:
    """Remove a registration: its employee, or the park's operator.  Raises ``PermissionDenied``."""
    if vehicle.employee.user_id != actor.pk and staff_of(actor, vehicle.park) is None:
        raise PermissionDenied(_("Only the vehicle's employee or the park's operator may remove it."))
    vehicle.delete()


# --- the barrier's decision ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    passed: bool
    #: ``registered``, ``visitor``, ``exit``, ``no_entry_recorded`` (passed); ``unknown_plate``,
    #: ``employee_not_working``, ``invitation_not_now``, ``area_full`` (refused).
    reason: str
    vehicle: Vehicle | None = None
    invitation: Invitation | None = None


def barrier_verdict(*, area: ParkingArea, plate: str, direction: str, at: datetime) -> Verdict:
    """Whether the barrier of ``area`` lets ``plate`` through at ``at``: in, when the plate is registered to a
    working employee of the park or is on an invitation whose visit is now (from ``PARK_VISITOR_EARLY_MINUTES``
    before it) and the car park is not full; out, always (a car is never kept in)."""
    vehicle = (Vehicle.objects.select_related("employee").filter(park_id=area.park_id, plate=plate).first())
    if direction == Direction.OUT:
        inside = ParkingStay.objects.filter(area=area, plate=plate, exited_at__isnull=True,
                                            entered_at__lte=at).exists()
        return Verdict(True, "exit" if inside else "no_entry_recorded", vehicle=vehicle)
    if vehicle is not None and vehicle.employee.status == EmployeeStatus.ACTIVE:
        verdict = Verdict(True, "registered", vehicle=vehicle)
    else:
        early = timedelta(minutes=settings.PARK_VISITOR_EARLY_MINUTES)
        invitations = Invitation.objects.filter(park_id=area.park_id, visitor_plate=plate, withdrawn_at__isnull=True,
                                                host__status=EmployeeStatus.ACTIVE)
        invitation = invitations.filter(valid_from__lte=at + early, valid_until__gte=at).order_by("valid_from").first()
        if invitation is not None:
            verdict = Verdict(True, "visitor", invitation=invitation)
        elif vehicle is not None:
            return Verdict(False, "employee_not_working", vehicle=vehicle)
        elif invitations.exists():
            return Verdict(False, "invitation_not_now")
        else:
            return Verdict(False, "unknown_plate")
    capacity = area.spaces.count()
    already = ParkingStay.objects.filter(area=area, plate=plate, exited_at__isnull=True).exists()
    if capacity and not already and ParkingStay.objects.filter(area=area, exited_at__isnull=True).count() >= capacity:
        return Verdict(False, "area_full", vehicle=verdict.vehicle, invitation=verdict.invitation)
    return verdict


def _told(event: BarrierEvent, kind: str) -> None:
    to = [scope("park", event.park_id)]
    if event.reported_by_id:
        to.append(scope("user", event.reported_by_id))
    change_record(kind=kind, obj=event, to=to, facts={"state": event.state, "result": event.result,
                                                      "area": event.area_id})


def _decide(event: BarrierEvent, *, plate: str, verdict: Verdict, by=None, reason: str | None = None,
            passed: bool | None = None) -> None:
    """Record ``verdict`` (or the operator's ``passed``/``reason``) on ``event`` (locked, not decided yet) and move
    the stay: a car let in starts one (unless it is inside already: the exit was missed), a car let out ends its."""
    now = timezone.now()
    passed = verdict.passed if passed is None else passed
    event.plate, event.state, event.decided_at = plate, BarrierState.DECIDED, now
    event.result = PassageResult.PASSED if passed else PassageResult.REFUSED
    event.reason = reason or verdict.reason
    event.vehicle, event.invitation, event.resolved_by = verdict.vehicle, verdict.invitation, by
    event.save()
    if passed and plate:
        stays = ParkingStay.objects.filter(area_id=event.area_id, plate=plate, exited_at__isnull=True)
        if event.direction == Direction.IN:
            if not stays.exists():
                ParkingStay.objects.create(park_id=event.park_id, area_id=event.area_id, plate=plate,
                                           vehicle=verdict.vehicle, invitation=verdict.invitation,
                                           entered_at=event.at)
        else:
            stays.filter(entered_at__lte=event.at).update(exited_at=event.at)  # never before it began
    _told(event, "barrier.decided")


# --- a vehicle at the barrier --------------------------------------------------------------------------------------

def barrier_event_report(*, actor, gate_id: int, direction: str, snapshot, at: datetime | None = None,
                         device_event: str = "") -> BarrierEvent:
    """A vehicle at a parking barrier, with its camera's snapshot: stored (checked and re-encoded as JPEG), and its
    plate queued for the reader (``barrier_event_read``) with the write.  The same ``device_event`` of a gate again
    (a retried upload) returns the event already recorded.

    Who may call: the park's barrier controllers (staff of role gate) and its operator.  Raises ``PermissionDenied``,
    ``ValidationError`` with ``not_found`` (no such barrier), ``not_a_choice`` (direction), ``bad_time`` or the
    file checks' codes (``unsupported_type``, ``too_large``, ...)."""
    gate = (Gate.objects.select_related("park", "parking_area")
            .filter(pk=gate_id, kind=GateKind.PARKING, active=True).first())
    if gate is None:
        raise ValidationError({"gateId": ValidationError(_("No such parking barrier."), code="not_found")})
    if staff_of(actor, gate.park, roles=(StaffRole.GATE, StaffRole.OPERATOR)) is None:
        raise PermissionDenied(_("Only this park's barrier controllers and operator may report vehicles."))
    if direction not in Direction.values:
        raise ValidationError({"direction": ValidationError(_("In or out."), code="not_a_choice")})
    now = timezone.now()
    at = at or now
    if not now - REPORT_MAX_AGE <= at <= now + REPORT_MAX_AHEAD:
        raise ValidationError({"at": ValidationError(_("The barrier's clock is wrong: this time is too far from now."),
                                                     code="bad_time")})
    device_event = (device_event or "")[:40]
    if device_event and (known := BarrierEvent.objects.filter(gate=gate, device_event=device_event).first()):
        return known
    names = file_store(ingested=file_ingest(kind=SNAPSHOT_KIND, upload=snapshot))
    try:
        with transaction.atomic():
            event = BarrierEvent.objects.create(
                park=gate.park, gate=gate, area=gate.parking_area, direction=direction, at=at,
                device_event=device_event, snapshot=names["file"], snapshot_thumbnail=names["thumbnail"],
                reported_by=actor)
            _told(event, "barrier.reported")
            task_enqueue("parks.tasks.barrier_plate_read_task", event.pk)
    except IntegrityError:
        file_discard(kind=SNAPSHOT_KIND, names=names.values())
        known = BarrierEvent.objects.filter(gate=gate, device_event=device_event).first()
        if known is None:
            raise
        return known  # the same upload raced itself
    except BaseException:
        file_discard(kind=SNAPSHOT_KIND, names=names.values())
        raise
    return event


def barrier_snapshot(event: BarrierEvent) -> bytes:
    """The stored snapshot of ``event`` (JPEG); raises ``OSError`` when storage fails."""
    with file_kind(SNAPSHOT_KIND).storage_backend.open(event.snapshot, "rb") as stored:
        return stored.read()


def barrier_event_read(*, event_id: int, readings: list[dict], problem: str = "") -> BarrierEvent | None:
    """Decide from what the plate reader read (``readings``: ``{"text", "confidence", "box"}``, best first), or put
    the event in the operator's queue: the reader could not run (``problem``: ``no_reader``, ``no_plate``), read no
    plate (``no_plate``), its best reading is below ``PARK_PLATE_MIN_CONFIDENCE`` (``unsure``) or no valid plate
    (``invalid_plate``).  An event read or decided already is left as it is (a redelivered task, or the operator
    was faster).  Who may call: ``parks.tasks.barrier_plate_read_task`` (the ``vision`` queue)."""
    best = readings[0] if readings else None
    queue_reason, plate = problem, ""
    if not queue_reason:
        if best is None:
            queue_reason = "no_plate"
        elif best["confidence"] < settings.PARK_PLATE_MIN_CONFIDENCE:
            queue_reason = "unsure"
        else:
            try:
                plate = plate_parse(best["text"]).text
            except PlateInvalid:
                queue_reason = "invalid_plate"
    with transaction.atomic():
        event = (BarrierEvent.objects.select_for_update(of=("self",)).select_related("area")
                 .filter(pk=event_id, state=BarrierState.READING).first())
        if event is None:
            return BarrierEvent.objects.filter(pk=event_id).first()
        event.readings = readings[:5]
        event.confidence = best["confidence"] if best else None
        if queue_reason:
            event.state, event.queue_reason = BarrierState.UNREADABLE, queue_reason
            event.save(update_fields=["readings", "confidence", "state", "queue_reason"])
            _told(event, "barrier.unreadable")
        else:
            _decide(event, plate=plate,
                    verdict=barrier_verdict(area=event.area, plate=plate, direction=event.direction, at=event.at))
    return event


def barrier_event_resolve(*, actor, event_id: int, plate: str | None = None,
                          passed: bool | None = None) -> BarrierEvent:
    """The operator reads a queued vehicle's snapshot: with the ``plate``, the barrier decides as it would have
    (``passed`` overrides it: ``operator_opened`` / ``operator_refused``); without one (no vehicle, or a plate no one
    can read), ``passed`` says what to do (``operator_opened`` / ``dismissed``).  A refused vehicle may still be let
    in (``passed``: the driver called from the barrier); nothing else decided is decided again.

    Who may call: the park's operator.  Raises ``PermissionDenied``, ``ValidationError`` with ``not_found``,
    ``invalid_plate``, ``required`` (neither plate nor decision) or ``already_decided``."""
    event = BarrierEvent.objects.select_related("park").filter(pk=event_id).first()
    if event is None:
        raise ValidationError({"eventId": ValidationError(_("No such barrier event."), code="not_found")})
    if staff_of(actor, event.park) is None:
        raise PermissionDenied(_("Only the park's operator may decide at its barriers."))
    if plate:
        plate = _plate(plate)
    elif passed is None:
        raise ValidationError({"plate": ValidationError(_("Enter the plate, or say whether to open."),
                                                        code="required")})
    with transaction.atomic():
        event = (BarrierEvent.objects.select_for_update(of=("self",)).select_related("area")
                 .filter(pk=event_id).first())
        if event.state == BarrierState.DECIDED:
            if not (passed and event.result == PassageResult.REFUSED):
                raise ValidationError({"eventId": ValidationError(_("This vehicle has been decided already."),
                                                                  code="already_decided")})
            plate = plate or event.plate  # the driver at a closed barrier calls: the operator opens it
        if plate:
            verdict = barrier_verdict(area=event.area, plate=plate, direction=event.direction, at=event.at)
            reason = None if passed is None or passed == verdict.passed else (
                "operator_opened" if passed else "operator_refused")
        else:
            verdict = Verdict(bool(passed), "operator_opened" if passed else "dismissed")
            reason = None
        _decide(event, plate=plate or "", verdict=verdict, by=actor, reason=reason, passed=passed)
    return event


# --- overstays -----------------------------------------------------------------------------------------------------

def overstays_flag(*, now: datetime | None = None) -> int:
    """Flag the stays gone on too long: longer than their car park's ``max_stay_hours``, or a visitor's past the
    end of their invitation.  Each stay is flagged once (a change to the park's operator).  Who may call: the beat
    task.  How many were flagged."""
    now = now or timezone.now()
    too_long = Q(invitation__isnull=False, invitation__valid_until__lt=now)
    for area_id, hours in ParkingArea.objects.values_list("pk", "max_stay_hours"):
        too_long |= Q(invitation__isnull=True, area_id=area_id, entered_at__lt=now - timedelta(hours=hours))
    too_long = ParkingStay.objects.filter(too_long, exited_at__isnull=True, overstay_at__isnull=True)
    flagged = 0
    for pk in too_long.values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            stay = ParkingStay.objects.select_for_update().filter(pk=pk, overstay_at__isnull=True).first()
            if stay is None:
                continue
            stay.overstay_at = now
            stay.save(update_fields=["overstay_at"])
            change_record(kind="parking.overstay", obj=stay, to=[scope("park", stay.park_id)],
                          facts={"plate": stay.plate, "area": stay.area_id})
            flagged += 1
    return flagged
