"""Every write of the campaign ledgers: rounds opened, cases listed (or found again), their work moved on the
workflow engine, the look-back round's verdicts.

A case found in a later round is the same case when it is of the same type within ``MATCH_METRES`` of one already
listed: the inspector is shown the candidates and confirms (``same_as``) or says it is another (``new_case``); the
sighting is recorded on the case, never a second case.  A grid worker's phone sends a ``client_request_id`` with
each update: the same id again (a retry after a lost answer) is the same update, answered with the case as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from core.audiences import scope
from core.feed import change_record
from core.files import file_discard, file_ingest, file_store
from core.workflow import Attempt, Notice, Workflow, WorkflowError, workflow_apply
from core.workflow.cases import actor_label
from gridapp.campaigns.models import (
    FINISHED,
    Campaign,
    CampaignCase,
    CampaignPlace,
    CampaignRound,
    CaseHistory,
    CaseOutcome,
    CasePhoto,
    CasePhotoStage,
    CaseStatus,
    CaseType,
    RoundKind,
)
from gridapp.campaigns.workflow import ACTION_LABELS, TABLE, Action, Relation
from gridapp.geography import selectors as geography
from gridapp.geography.locator import OutsideDistrict, district_locator
from gridapp.incidents import selectors as incidents
from gridapp.incidents.models import EventStatus
from gridapp.incidents.photos import distance_m

#: Two listings of the same type closer than this are offered to the inspector as one case.
MATCH_METRES = 30.0
PHOTO_KIND = "campaign_photo"
MAX_PHOTOS = 9
MAX_AREA_M2 = Decimal("100000")


# --- who may act ---------------------------------------------------------------------------------------------------

def case_relations(user, case: CampaignCase, *, patrolled: frozenset[int] | None = None,
                   supervised: frozenset[int] | None = None) -> frozenset[str]:
    """How ``user`` stands to ``case``: the grid worker of its grid, a supervisor of its community or street, the
    command centre (operators and administrators run campaigns).  No query when the caller passes the user's
    patrolled and supervised grid ids (a list reads them once)."""
    if user is None:
        return frozenset({Relation.SYSTEM})
    if not (user.is_authenticated and user.is_active):
        return frozenset()
    relations = set()
    if user.commands_district:
        relations.add(Relation.COMMAND_CENTRE)
    if user.role == Role.GRID_WORKER and (
            case.grid_id in patrolled if patrolled is not None
            else geography.grid_ids_of_worker(user).filter(content_object_id=case.grid_id).exists()):
        relations.add(Relation.GRID_WORKER)
    if user.role == Role.SUPERVISOR and (
            case.grid_id in supervised if supervised is not None
            else geography.grid_ids_supervised_by(user).filter(id=case.grid_id).exists()):
        relations.add(Relation.SUPERVISOR)
    return frozenset(relations)


def _may_work_in(user, grid_id: int) -> bool:
    return bool(user.commands_district
                or (user.role == Role.GRID_WORKER
                    and geography.grid_ids_of_worker(user).filter(content_object_id=grid_id).exists())
                or (user.role == Role.SUPERVISOR and geography.grid_ids_supervised_by(user).filter(id=grid_id).exists()))


# --- the workflow's hooks ------------------------------------------------------------------------------------------

def _open_round(campaign_id: int, kind: str) -> CampaignRound | None:
    return (CampaignRound.objects.filter(campaign_id=campaign_id, kind=kind, closed_at__isnull=True)
            .order_by("-number").first())


def _need_look_back_round(attempt: Attempt) -> None:
    found = _open_round(attempt.obj.campaign_id, RoundKind.LOOK_BACK)
    if found is None:
        raise WorkflowError(_("A finished case is re-inspected in a look-back round: open one first."),
                            code="no_open_round")
    attempt.memo["round"] = found


def _effect_outcome(attempt: Attempt) -> None:
    attempt.obj.outcome = attempt.obj.case_type.outcome


def _effect_recurred(attempt: Attempt) -> None:
    case = attempt.obj
    attempt.data["outcome_before"] = case.outcome
    case.outcome = ""
    case.recurrences += 1


def _history(attempt: Attempt) -> CaseHistory:
    row = CaseHistory.objects.create(
        case=attempt.obj, at=attempt.now, actor=attempt.actor, actor_label=actor_label(attempt.actor),
        action=attempt.action, from_status=attempt.from_status, to_status=attempt.obj.status,
        round=attempt.memo.get("round"), note=(attempt.param("note") or "")[:500], data=attempt.data,
        client_request_id=attempt.param("client_request_id"))
    _photos_keep(row, attempt.param("stored") or [], stage=attempt.param("stage") or CasePhotoStage.AFTER)
    return row


# --- photos --------------------------------------------------------------------------------------------------------

def photos_store(photos) -> list[tuple[dict, object]]:
    """Check and store the uploaded ``photos`` (at most ``MAX_PHOTOS``) before the write that names them; returns
    ``(storage names, ingested)`` for each.  Raises ``ValidationError`` (``too_many`` or the image checks')."""
    photos = list(photos or [])
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": ValidationError(_("At most %(limit)d photos at a time.") % {
            "limit": MAX_PHOTOS}, code="too_many")})
    ingested = [file_ingest(kind=PHOTO_KIND, upload=photo) for photo in photos]
    stored = []
    try:
        for item in ingested:
            stored.append((file_store(ingested=item), item))
    except BaseException:
        photos_discard(stored)
        raise
    return stored


def photos_discard(stored) -> None:
    for names, _item in stored:
        file_discard(kind=PHOTO_KIND, names=names.values())


def _photos_keep(row: CaseHistory, stored, *, stage: str) -> None:
    CasePhoto.objects.bulk_create(
        CasePhoto(case=row.case, history=row, stage=stage, image=names["file"], thumbnail=names["thumbnail"],
                  width=item.details.width, height=item.details.height) for names, item in stored)


def _rows(actor, pk):
    return CampaignCase.objects.select_related("case_type", "campaign").filter(pk=pk)


def _notices(attempt: Attempt) -> list[Notice]:
    """A case raised from an incident finished: tell whoever handles the incident, who resolves it (four eyes stay
    on the incident's side)."""
    case = attempt.obj
    if attempt.action != Action.FINISH or case.event_id is None:
        return []
    event = case.event
    if event.status not in (EventStatus.DISPATCHED, EventStatus.IN_PROGRESS) or event.assignee is None:
        return []
    return [Notice(recipient=event.assignee, title=_("Campaign case %(case)s is %(outcome)s: incident %(event)s can "
                                                     "be resolved") % {
        "case": case.number, "outcome": CaseOutcome(case.outcome).label, "event": event.case_number},
        source=f"campaign-case-finished:{case.pk}:{case.version}")]


def case_change_fields(case: CampaignCase) -> dict:
    return {"to": [scope("grid", case.grid_id)], "facts": {"status": case.status, "version": case.version}}


CASE_WORKFLOW = Workflow(
    name="gridapp.campaign_case", model=CampaignCase, table=TABLE, relations=case_relations,
    needs={"look_back_round": _need_look_back_round},
    effects={"outcome": _effect_outcome, "recurred": _effect_recurred},
    targets={"outcome": lambda attempt: attempt.obj.case_type.outcome}, rows=_rows, history=_history,
    change=case_change_fields, change_prefix="campaign_case", notices=_notices, labels=ACTION_LABELS,
    id_field="caseId",
    messages={"not_found": gettext_lazy("Case not found."),
              "transition_not_allowed": gettext_lazy("A case that is %(status)s cannot %(action)s."),
              "permission_denied": gettext_lazy("You may not %(action)s on this case.")},
)


# --- rounds --------------------------------------------------------------------------------------------------------

def round_open(*, actor, campaign: Campaign, kind: str = RoundKind.INSPECTION, at=None) -> CampaignRound:
    """Open the campaign's next round (closing the one open before).  Who may call: the command centre.  Raises
    ``PermissionDenied``, ``ValidationError`` (``not_a_choice``)."""
    if actor is not None and not actor.commands_district:
        raise PermissionDenied(_("Only the command centre opens a campaign's rounds."))
    if kind not in RoundKind.values:
        raise ValidationError({"kind": ValidationError(_("Inspection or look-back."), code="not_a_choice")})
    at = at or timezone.now()
    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)
        CampaignRound.objects.filter(campaign=campaign, closed_at__isnull=True).update(closed_at=at)
        last = CampaignRound.objects.filter(campaign=campaign).order_by("-number").first()
        return CampaignRound.objects.create(campaign=campaign, number=(last.number if last else 0) + 1, kind=kind,
                                            opened_at=at)


# --- listing and finding again -------------------------------------------------------------------------------------

@dataclass
class Recorded:
    """What an inspector's listing did: a new case, a sighting of ``case`` (found again), or nothing yet because
    ``candidates`` may be the same case (confirm with ``same_as`` or say ``new_case``)."""

    case: CampaignCase | None
    sighted: bool = False
    candidates: list[tuple[CampaignCase, float]] = field(default_factory=list)  # (case, metres away)


def _replayed(actor, client_request_id: str | None) -> CaseHistory | None:
    """The update ``actor``'s phone sent before with this id, if any (its case as it is now)."""
    if not client_request_id or actor is None:
        return None
    return CaseHistory.objects.select_related("case").filter(actor=actor, client_request_id=client_request_id).first()


def _area(value) -> Decimal:
    try:
        area = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        area = Decimal("-1")
    if not Decimal("0") < area <= MAX_AREA_M2:
        raise ValidationError({"areaM2": ValidationError(_("The area is in square metres, above 0 and at most "
                                                           "100,000."), code="invalid_area")})
    return area


def candidates_near(*, campaign: Campaign, case_type: CaseType, lng: float, lat: float,
                    metres: float = MATCH_METRES) -> list[tuple[CampaignCase, float]]:
    """The campaign's cases of ``case_type`` within ``metres`` of the point, nearest first (one query: a box, then
    the distance)."""
    d_lat = metres / 111_000
    d_lng = metres / (111_000 * max(0.1, math.cos(math.radians(lat))))
    near = CampaignCase.objects.filter(campaign=campaign, case_type=case_type, lat__range=(lat - d_lat, lat + d_lat),
                                       lng__range=(lng - d_lng, lng + d_lng))
    found = [(case, distance_m(lng, lat, case.lng, case.lat)) for case in near]
    return sorted(((case, d) for case, d in found if d <= metres), key=lambda pair: pair[1])


def case_record(*, actor, campaign: Campaign, type_code: str, lng: float, lat: float, area_m2, site: str,
                responsible_unit: str, note: str = "", same_as: int | None = None, new_case: bool = False,
                client_request_id: str | None = None, photos=()) -> Recorded:
    """An inspector lists a case in the campaign's open inspection round, located to its grid and its place.

    Of the same type within ``MATCH_METRES`` of a listed case: without ``same_as`` or ``new_case`` nothing is
    written and the candidates come back; with ``same_as`` (one of them) the sighting is recorded on that case.
    Who may call: the grid worker of the point's grid, a supervisor of it, the command centre.  Raises
    ``PermissionDenied``, ``ValidationError`` with ``no_open_round``, ``unknown_type``, ``outside_district``,
    ``outside_scope`` (a grid the campaign does not cover), ``invalid_area``, ``required``, ``too_long``,
    ``not_a_candidate``."""
    if (replayed := _replayed(actor, client_request_id)) is not None:
        return Recorded(case=replayed.case, sighted=replayed.action == "sighted")
    inspection = _open_round(campaign.pk, RoundKind.INSPECTION)
    if inspection is None:
        raise ValidationError(_("The campaign has no inspection round open."), code="no_open_round")
    case_type = CaseType.objects.filter(campaign=campaign, code=type_code).first()
    if case_type is None:
        raise ValidationError({"typeCode": ValidationError(_("Not a case type of this campaign."),
                                                           code="unknown_type")})
    if not (math.isfinite(lng) and math.isfinite(lat)):
        raise ValidationError({"location": ValidationError(_("This point is outside the district."),
                                                           code="outside_district")})
    try:
        location = district_locator().locate_wgs84(lng, lat)
    except OutsideDistrict:
        raise ValidationError({"location": ValidationError(_("This point is outside the district."),
                                                           code="outside_district")}) from None
    if campaign.grids.exists() and not campaign.grids.filter(pk=location.grid_id).exists():
        raise ValidationError({"location": ValidationError(_("This point is outside the campaign's grids."),
                                                           code="outside_scope")})
    if actor is not None and not _may_work_in(actor, location.grid_id):
        raise PermissionDenied(_("Only the grid's worker, its supervisors and the command centre list cases here."))
    area = _area(area_m2)
    errors = {}
    site, unit = (site or "").strip(), (responsible_unit or "").strip()
    for name, value, limit in (("site", site, 100), ("responsibleUnit", unit, 100)):
        if not value:
            errors[name] = ValidationError(_("This field is required."), code="required")
        elif len(value) > limit:
            errors[name] = ValidationError(_("At most %(limit)d characters.") % {"limit": limit}, code="too_long")
    if errors:
        raise ValidationError(errors)
    candidates = candidates_near(campaign=campaign, case_type=case_type, lng=lng, lat=lat)
    now = timezone.now()
    if candidates and same_as is None and not new_case:
        return Recorded(case=None, candidates=candidates)  # nothing stored: the inspector decides first
    stored = photos_store(photos)
    try:
        return _recorded(actor=actor, campaign=campaign, inspection=inspection, case_type=case_type, lng=lng, lat=lat,
                         grid_id=location.grid_id, area=area, site=site, unit=unit, note=note, same_as=same_as,
                         candidates=candidates, client_request_id=client_request_id, stored=stored, now=now)
    except BaseException:
        photos_discard(stored)
        raise


def _recorded(*, actor, campaign, inspection, case_type, lng, lat, grid_id, area, site, unit, note, same_as,
              candidates, client_request_id, stored, now) -> Recorded:
    if same_as is not None:
        case = next((case for case, _d in candidates if case.pk == same_as), None)
        if case is None:
            raise ValidationError({"sameAs": ValidationError(
                _("That case is not of this type within %(metres)d m of here.") % {"metres": MATCH_METRES},
                code="not_a_candidate")})
        with transaction.atomic():
            row = _written(case=case, at=now, actor=actor, action="sighted", round=inspection, note=note,
                           client_request_id=client_request_id, data={"lng": lng, "lat": lat, "area_m2": str(area)})
            _photos_keep(row, stored, stage=CasePhotoStage.BEFORE)
        return Recorded(case=case, sighted=True)
    place = _place_of(campaign, lng, lat)
    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)  # case numbers in order
        number = CampaignCase.objects.filter(campaign=campaign).count() + 1
        case = CampaignCase.objects.create(
            campaign=campaign, number=f"{campaign.code[:10].upper()}-{number:04d}", case_type=case_type, place=place,
            grid_id=grid_id, lng=lng, lat=lat, site=site, area_m2=area, responsible_unit=unit,
            first_round=inspection)
        row = _written(case=case, at=now, actor=actor, action="listed", round=inspection, note=note,
                       client_request_id=client_request_id)
        _photos_keep(row, stored, stage=CasePhotoStage.BEFORE)
    return Recorded(case=case)


def _place_of(campaign: Campaign, lng: float, lat: float) -> CampaignPlace | None:
    places = [(distance_m(lng, lat, p.lng, p.lat), p) for p in campaign.places.all()]
    inside = [(d, p) for d, p in places if d <= p.radius_m]
    return min(inside, key=lambda pair: pair[0])[1] if inside else None


def _written(*, case: CampaignCase, at, actor, action: str, round: CampaignRound | None, note: str = "",
             client_request_id: str | None = None, data: dict | None = None) -> CaseHistory:
    """A history row that is no transition (listed, sighted), and its change."""
    try:
        with transaction.atomic():
            row = CaseHistory.objects.create(
                case=case, at=at, actor=actor, actor_label=actor_label(actor), action=action, from_status="",
                to_status=case.status, round=round, note=(note or "")[:500], data=data or {},
                client_request_id=client_request_id or None)
    except IntegrityError:
        raise ValidationError(_("This update was sent already."), code="replayed") from None
    change_record(kind=f"campaign_case.{action}", obj=case, **case_change_fields(case))
    return row


# --- the work and the look-back ------------------------------------------------------------------------------------

def case_act(*, actor, case_id: int, action: str, note: str = "", client_request_id: str | None = None,
             expected_version: int | None = None, photos=()) -> CampaignCase:
    """Move a case's work on (``gridapp.campaigns.workflow``), with photos of it (after the work; at the look-back);
    a ``client_request_id`` seen before returns the case as it is, untouched.  Raises what
    ``core.workflow.workflow_apply`` raises, and the photos' checks."""
    if (replayed := _replayed(actor, client_request_id)) is not None:
        return replayed.case
    stored = photos_store(photos)
    stage = CasePhotoStage.LOOK_BACK if action in (Action.PASS_LOOK_BACK, Action.RECUR) else CasePhotoStage.AFTER
    try:
        return workflow_apply(workflow=CASE_WORKFLOW, obj=case_id, action=action, actor=actor, note=note,
                              client_request_id=client_request_id or None, expected_version=expected_version,
                              stored=stored, stage=stage)
    except BaseException:
        photos_discard(stored)
        raise


def look_back(*, actor, case_id: int, recurred: bool, note: str = "", client_request_id: str | None = None,
              photos=()) -> CampaignCase:
    """The look-back round's verdict on a finished case: nothing came back (look-back passed) or it recurred (the
    case reopens to be worked again, and shows as recurred in the ledger)."""
    return case_act(actor=actor, case_id=case_id, action=Action.RECUR if recurred else Action.PASS_LOOK_BACK,
                    note=note, client_request_id=client_request_id, photos=photos)


def finished_cases(campaign: Campaign):
    """What a look-back round re-inspects: every finished case of the campaign."""
    return CampaignCase.objects.filter(campaign=campaign, status__in=FINISHED)


__all__ = ["CASE_WORKFLOW", "MATCH_METRES", "Recorded", "case_act", "case_record", "candidates_near",
           "finished_cases", "look_back", "round_open", "CaseOutcome", "CaseStatus"]


# --- cases raised from incidents -------------------------------------------------------------------------------------

def case_from_event(*, actor, campaign: Campaign, event_id: int, type_code: str, area_m2, site: str,
                    responsible_unit: str, same_as: int | None = None, new_case: bool = False,
                    client_request_id: str | None = None) -> Recorded:
    """Raise a case from an incident of a category the campaign takes (``Campaign.event_categories``), at the
    incident's place, linked to it: when the incident closes, the case's work finishes with it
    (``event_closed_case_finish``); when the case finishes, whoever handles the incident is told.  An incident raises
    one case (asked again: that case).  Raises what ``case_record`` raises, and ``ValidationError`` with ``not_found``
    (an incident the actor may not see) or ``not_a_campaign_category``."""
    event = incidents.events_visible_to(actor).select_related("category").filter(pk=event_id).first() \
        if actor is not None else None
    if event is None:
        raise ValidationError({"eventId": ValidationError(_("Event not found."), code="not_found")})
    if not campaign.event_categories.filter(pk=event.category_id).exists():
        raise ValidationError({"eventId": ValidationError(
            _("Incidents of %(category)s do not raise cases of this campaign.") % {"category": event.category.name},
            code="not_a_campaign_category")})
    if (linked := CampaignCase.objects.filter(event=event).first()) is not None:
        return Recorded(case=linked)
    recorded = case_record(actor=actor, campaign=campaign, type_code=type_code, lng=event.lng, lat=event.lat,
                           area_m2=area_m2, site=site, responsible_unit=responsible_unit, same_as=same_as,
                           new_case=new_case, client_request_id=client_request_id,
                           note=_("Raised from incident %(event)s") % {"event": event.case_number})
    if recorded.case is not None and recorded.case.event_id is None:
        CampaignCase.objects.filter(pk=recorded.case.pk, event__isnull=True).update(event=event)
        recorded.case.refresh_from_db()
    return recorded


def event_closed_case_finish(event, actor) -> None:
    """The incident a case was raised from closed: the case's work in progress finishes (as OneGrid, noted).
    Registered with ``gridapp.incidents.closing``; runs inside the incident's closing transaction."""
    for case in CampaignCase.objects.filter(event=event, status=CaseStatus.IN_PROGRESS):
        workflow_apply(workflow=CASE_WORKFLOW, obj=case.pk, action=Action.FINISH, actor=None,
                       note=_("Incident %(event)s closed") % {"event": event.case_number})
