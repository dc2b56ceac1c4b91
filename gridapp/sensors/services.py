"""The sensor watch's writes: households and their consent, and the sweep that turns the rules' findings into
incidents (one per ongoing condition) and closes them when the readings are normal again after the visit."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridapp.geography.locator import OutsideDistrict, district_locator
from gridapp.geography.selectors import grid_workers
from gridapp.incidents.models import EventSource, EventStatus
from gridapp.incidents.services import event_report, event_transition
from gridapp.sensors import rules
from gridapp.sensors.models import ConditionKind, Household, HouseholdConsent, WatchCondition, WaterMeter
from gridapp.sensors.selectors import households_kept_by

log = logging.getLogger("gridapp.sensors")

#: The incident category each condition raises: two welfare alarms for the grid worker, one maintenance task.
CATEGORIES = {ConditionKind.NO_USE: "13-02", ConditionKind.RUNNING: "13-05", ConditionKind.SILENT: "06-08"}
#: Conditions about the resident, routed straight to the grid's worker; a silent meter is the device's business.
WELFARE = frozenset({ConditionKind.NO_USE, ConditionKind.RUNNING})


def household_register(*, code: str, address: str, lng: float, lat: float, resident_name: str,
                       contact_name: str, contact_phone: str, emergency_name: str, emergency_phone: str,
                       resident_phone: str = "", meter_serial: str | None = None,
                       meter_installed_at: datetime | None = None, **rule_hours) -> Household:
    """Register a household at its place (located to its grid), with its meter if one is installed.  Not watched
    until a consent is recorded (``consent_record``).

    Who may call: the admin and the import and demo code.  Raises ``ValidationError`` with code
    ``invalid_coordinates`` or ``outside_district``."""
    if not (math.isfinite(lng) and math.isfinite(lat) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationError(_("Latitude must be within ±90 and longitude within ±180."), code="invalid_coordinates")
    try:
        grid_id = district_locator().locate_wgs84(lng, lat).grid_id
    except OutsideDistrict:
        raise ValidationError(_("This point is outside the district."), code="outside_district") from None
    with transaction.atomic():
        household = Household.objects.create(
            code=code, address=address, lng=lng, lat=lat, grid_id=grid_id, resident_name=resident_name,
            resident_phone=resident_phone, contact_name=contact_name, contact_phone=contact_phone,
            emergency_name=emergency_name, emergency_phone=emergency_phone, **rule_hours)
        if meter_serial:
            WaterMeter.objects.create(serial=meter_serial, household=household,
                                      installed_at=meter_installed_at or timezone.now())
    return household


def _kept(actor, household_id: int) -> Household:
    if actor is not None and not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied(_("Log in first: this needs an access token."))
    households = Household.objects if actor is None else households_kept_by(actor)
    household = households.select_for_update().filter(pk=household_id).first()
    if household is None:
        raise ValidationError(_("No such household, or not one you look after."), code="not_found")
    return household


def consent_record(*, actor, household_id: int, given_by: str, relation: str = "本人",
                   at: datetime | None = None) -> HouseholdConsent:
    """Record the consent ``given_by`` (the resident, or ``relation`` of theirs) gave to the watch; the watch starts.

    Who may call: the household's grid worker, their supervisor, the command centre (``actor=None``: the admin and
    the demo).  Raises ``ValidationError`` with code ``not_found``, ``required`` or ``consent_holds`` (one consent
    at a time: withdraw it first)."""
    given_by, relation = (given_by or "").strip()[:60], (relation or "").strip()[:30] or "本人"
    if not given_by:
        raise ValidationError(_("Say who gave the consent."), code="required")
    at = at or timezone.now()
    with transaction.atomic():
        household = _kept(actor, household_id)
        try:
            with transaction.atomic():
                consent = HouseholdConsent.objects.create(household=household, given_by=given_by, relation=relation,
                                                          given_at=at, recorded_by=actor)
        except IntegrityError:
            raise ValidationError(_("A consent holds already; withdraw it before recording another."),
                                  code="consent_holds") from None
        household.watched, household.watched_since = True, at
        household.save(update_fields=["watched", "watched_since"])
    return consent


def consent_withdraw(*, actor, household_id: int, withdrawn_by: str, at: datetime | None = None) -> HouseholdConsent:
    """Withdraw the consent that holds: the watch stops at once (no reading is kept, none is shown, no rule runs);
    the incidents already raised stay with the people handling them.

    Who may call: as ``consent_record``.  Raises ``ValidationError`` with code ``not_found``, ``required`` or
    ``no_consent``."""
    withdrawn_by = (withdrawn_by or "").strip()[:60]
    if not withdrawn_by:
        raise ValidationError(_("Say who withdrew the consent."), code="required")
    at = at or timezone.now()
    with transaction.atomic():
        household = _kept(actor, household_id)
        consent = household.consents.filter(withdrawn_at__isnull=True).first()
        if consent is None:
            raise ValidationError(_("No consent holds for this household."), code="no_consent")
        consent.withdrawn_at, consent.withdrawn_by, consent.withdrawal_recorded_by = at, withdrawn_by, actor
        consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_recorded_by"])
        household.watched = False
        household.save(update_fields=["watched"])
        household.conditions.filter(closed_at__isnull=True).update(closed_at=at)
    return consent


#: The household's fields that are the rules' (``gridapp.sensors.rules.Rules``), by the same names.
RULE_FIELDS = ("no_use_hours", "day_starts", "day_ends", "running_hours", "silent_hours")


@dataclass
class SweepResult:
    raised: int = 0
    closed: int = 0
    cleared: int = 0


def watch_sweep(*, now: datetime | None = None) -> SweepResult:
    """Run the rules over every watched household's meter at ``now``: raise an incident for a condition that
    starts, keep one open condition (and its one incident) while it lasts, and close it when the readings are normal
    again and the incident has been resolved (the worker's visit recorded).

    Who may call: the beat (``gridapp.tasks.sensors_watch``) and the simulation.  Idempotent: a second sweep at the
    same ``now`` changes nothing.  Two queries for the households, plus the writes of what changed."""
    now = now or timezone.now()
    zone = timezone.get_default_timezone()
    result = SweepResult()
    open_conditions = {(condition.household_id, condition.kind): condition for condition in
                       WatchCondition.objects.filter(closed_at__isnull=True).select_related("event", "household")}
    # Plain rows, not models: the sweep reads every watched meter every few minutes and raises for few of them.
    rows = WaterMeter.objects.filter(active=True, household__watched=True).values_list(
        "pk", "household_id", "installed_at", "first_reading_at", "last_reading_at", "last_use_at", "last_pause_at",
        "household__watched_since", "household__created_at", *(f"household__{name}" for name in RULE_FIELDS))
    each_rules: dict[tuple, rules.Rules] = {}  # most households keep the district's defaults: one object for them
    for (meter_id, household_id, installed_at, first_reading_at, last_reading_at, last_use_at, last_pause_at,
         watched_since, created_at, *rule_values) in rows.iterator(chunk_size=2000):
        key = tuple(rule_values)
        if key not in each_rules:
            each_rules[key] = rules.Rules(**dict(zip(RULE_FIELDS, rule_values, strict=True)))
        state = rules.MeterState(watched_since=max(filter(None, (watched_since, installed_at)), default=created_at),
                                 first_reading_at=first_reading_at, last_reading_at=last_reading_at,
                                 last_use_at=last_use_at, last_pause_at=last_pause_at)
        present = rules.conditions_present(each_rules[key], state, now, zone)
        for kind in ConditionKind.values:
            condition = open_conditions.pop((household_id, kind), None)
            if kind in present:
                if condition is None:
                    result.raised += _condition_raise(household_id, meter_id, kind, present[kind], now)
                else:
                    _condition_goes_on(condition, now)
            elif condition is not None:
                result.cleared += condition.cleared_at is None
                result.closed += _condition_settle(condition, now)
    for condition in open_conditions.values():  # a household no longer watched, a meter taken out
        result.closed += _condition_settle(condition, now)
    return result


def _condition_raise(household_id: int, meter_id: int, kind: str, started: datetime, now: datetime) -> int:
    if WatchCondition.objects.filter(household_id=household_id, kind=kind, started_at=started).exists():
        return 0  # this very condition was raised, and ended by people: it is not raised again
    household = Household.objects.select_related("grid").get(pk=household_id)
    meter = WaterMeter.objects.get(pk=meter_id)
    with transaction.atomic():
        condition = WatchCondition.objects.create(household=household, meter=meter, kind=kind, started_at=started,
                                                  raised_at=now)
        try:
            outcome = event_report(
                reporter=None, source=EventSource.SENSOR, category_code=CATEGORIES[kind], lng=household.lng,
                lat=household.lat, address=household.address, description=_condition_text(household, meter, kind,
                                                                                          started),
                source_key=f"sensors:{kind}:{household.pk}:{started:%Y%m%dT%H%M%S}", at=now, link_duplicates=False)
        except ValidationError as error:  # a category an administrator switched off, a household moved away
            log.warning("household %s: %s found, no incident raised: %s", household.code, kind, error)
            condition.delete()
            return 0
        event = outcome.event
        condition.event = event
        condition.save(update_fields=["event"])
        if kind in WELFARE and event.status == EventStatus.REPORTED:
            event_transition(actor=None, event_id=event.pk, action="accept", now=now)
            worker = grid_workers(household.grid).first()
            if worker is not None:  # no worker in the grid: the civil-affairs office dispatches it
                event_transition(actor=None, event_id=event.pk, action="dispatch", assignee=worker,
                                 note=_("Visit the resident."), now=now)
    return 1


def _condition_text(household: Household, meter: WaterMeter, kind: str, started: datetime) -> str:
    local = timezone.localtime(started).strftime("%Y-%m-%d %H:%M")
    if kind == ConditionKind.NO_USE:
        return (_("Elderly resident living alone at %(household)s: no water used for %(hours)d hours of daytime "
                  "since %(since)s. Visit the resident.")
                % {"household": household.code, "hours": household.no_use_hours, "since": local})
    if kind == ConditionKind.RUNNING:
        return (_("Water has been running without a pause since %(since)s at %(household)s, the home of an "
                  "elderly resident living alone: a possible leak or a tap left open. Visit the resident.")
                % {"household": household.code, "since": local})
    return (_("Water meter %(serial)s at %(household)s has sent nothing since %(since)s: check the meter and "
              "its gateway.") % {"serial": meter.serial, "household": household.code, "since": local})


def _condition_goes_on(condition: WatchCondition, now: datetime) -> None:
    if condition.event is not None and not condition.event.is_open:
        # people ended the incident while the condition lasts: this condition is over for the watch
        condition.closed_at = now
        condition.save(update_fields=["closed_at"])
    elif condition.cleared_at is not None:  # back before the incident closed: still the same condition
        condition.cleared_at = None
        condition.save(update_fields=["cleared_at"])


def _condition_settle(condition: WatchCondition, now: datetime) -> int:
    """A condition that no longer holds: closed with its incident once the incident is resolved; at once when the
    incident was ended by people or the watch stopped."""
    if condition.cleared_at is None:
        condition.cleared_at = now
    event = condition.event
    if event is not None and event.is_open and condition.household.watched:
        if event.status != EventStatus.RESOLVED:
            condition.save(update_fields=["cleared_at"])
            return 0  # normal again, but nobody has been to see yet
        try:
            with transaction.atomic():
                event_transition(actor=None, event_id=event.pk, action="verify", now=now,
                                 note=_("Normal water use again after the visit."))
                event_transition(actor=None, event_id=event.pk, action="close", now=now)
        except ValidationError as error:
            log.warning("incident %s not closed by the watch: %s", event, error)
            condition.save(update_fields=["cleared_at"])
            return 0
    condition.closed_at = now
    condition.save(update_fields=["cleared_at", "closed_at"])
    return 1
