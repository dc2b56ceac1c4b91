"""Campaign ledgers from the phone and the command centre: rounds opened, cases listed or found again, their work
moved on, the look-back's verdicts.  Every update may carry a clientRequestId: sent again, it changes nothing."""

from __future__ import annotations

import strawberry
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.file_uploads import Upload

from api.base.ids import input_pk
from api.campaigns.errors import CampaignError
from api.campaigns.queries import campaign_of
from api.campaigns.types import CampaignCaseType, CaseActionEnum, RoundInfo, RoundKindEnum
from api.context import viewer
from api.mutations import mutation
from api.restrict import Payload
from gridapp.campaigns import services
from gridapp.campaigns.models import RoundKind
from gridapp.campaigns.selectors import cases_visible_to


@strawberry.input
class OpenCampaignRoundInput:
    campaign_id: relay.GlobalID
    kind: RoundKindEnum


@strawberry.type
class CampaignRoundPayload(Payload):
    errors: list[CampaignError] = strawberry.field(default_factory=list)
    round: RoundInfo | None = None


@strawberry.input
class RecordCampaignCaseInput:
    campaign_id: relay.GlobalID
    type_code: str
    lng: float = strawberry.field(description="WGS-84.")
    lat: float
    area_m2: float
    site: str = strawberry.field(description="The household or site.")
    responsible_unit: str
    note: str = ""
    same_as: relay.GlobalID | None = strawberry.field(default=None, description="The candidate this is (found "
                                                                                "again): recorded on it.")
    new_case: bool = strawberry.field(default=False, description="None of the candidates: list it as a new case.")
    client_request_id: str | None = strawberry.field(default=None, description="The phone's id of this update.")
    photos: list[Upload] = strawberry.field(default_factory=list, description="Before the work (at most 9).")


@strawberry.type(name="CampaignCandidate", description="A listed case nearby that this may be (only those the "
                                                            "inspector may see).")
class CandidateType:
    case_id: relay.GlobalID
    number: str
    site: str
    area_m2: float
    status: str
    metres: float


@strawberry.type
class RecordCampaignCasePayload(Payload):
    errors: list[CampaignError] = strawberry.field(default_factory=list)
    case: CampaignCaseType | None = strawberry.field(default=None, description="The new case, or the case found "
                                                                               "again (sighted).")
    sighted: bool = False
    candidates: list[CandidateType] = strawberry.field(default_factory=list, description=(
        "Listed cases of this type nearby: nothing was written; send again with sameAs (one of them) or newCase."))


@strawberry.input
class ActOnCampaignCaseInput:
    case_id: relay.GlobalID
    action: CaseActionEnum
    note: str = ""
    client_request_id: str | None = None
    expected_version: int | None = None
    photos: list[Upload] = strawberry.field(default_factory=list, description="After the work (at most 9).")


@strawberry.input
class LookBackCampaignCaseInput:
    case_id: relay.GlobalID
    recurred: bool = strawberry.field(description="It came back: the case reopens and shows as recurred.")
    note: str = ""
    client_request_id: str | None = None
    photos: list[Upload] = strawberry.field(default_factory=list, description="At the look-back (at most 9).")


@strawberry.type
class CampaignCasePayload(Payload):
    errors: list[CampaignError] = strawberry.field(default_factory=list)
    case: CampaignCaseType | None = None


def _recorded_payload(info: strawberry.Info, recorded) -> RecordCampaignCasePayload:
    """The listing's answer: the candidates the viewer may see, nearest first."""
    visible = set(cases_visible_to(viewer(info).user).filter(
        pk__in=[case.pk for case, _metres in recorded.candidates]).values_list("pk", flat=True))
    return RecordCampaignCasePayload(case=recorded.case, sighted=recorded.sighted, candidates=[
        CandidateType(case_id=relay.GlobalID("CampaignCase", str(case.pk)), number=case.number, site=case.site,
                      area_m2=float(case.area_m2), status=case.status, metres=round(metres, 1))
        for case, metres in recorded.candidates if case.pk in visible])


@strawberry.input
class RaiseCampaignCaseInput:
    event_id: relay.GlobalID = strawberry.field(description="An incident of a category the campaign takes.")
    campaign_id: relay.GlobalID
    type_code: str
    area_m2: float
    site: str
    responsible_unit: str
    same_as: relay.GlobalID | None = None
    new_case: bool = False
    client_request_id: str | None = None


@strawberry.type
class CampaignMutation:
    @mutation(description="Raise a campaign case from an incident (at its place, linked to it): when the incident "
                          "closes, the case's work finishes; when the case finishes, the incident's handler is told.")
    def raise_campaign_case(self, info: strawberry.Info, input: RaiseCampaignCaseInput) -> RecordCampaignCasePayload:
        event = input_pk(input.event_id, "Event", field="eventId", message=_("Event not found."))
        same_as = (input_pk(input.same_as, "CampaignCase", field="sameAs", message=_("Case not found."))
                   if input.same_as is not None else None)
        recorded = services.case_from_event(
            actor=viewer(info).user, campaign=campaign_of(input.campaign_id), event_id=event,
            type_code=input.type_code[:30], area_m2=input.area_m2, site=input.site,
            responsible_unit=input.responsible_unit, same_as=same_as, new_case=input.new_case,
            client_request_id=(input.client_request_id or "")[:64] or None)
        return _recorded_payload(info, recorded)

    @mutation(description="The command centre opens a campaign's next round (inspection or look-back).")
    def open_campaign_round(self, info: strawberry.Info, input: OpenCampaignRoundInput) -> CampaignRoundPayload:
        made = services.round_open(actor=viewer(info).user, campaign=campaign_of(input.campaign_id),
                                   kind=input.kind.value)
        return CampaignRoundPayload(round=RoundInfo(number=made.number, kind=RoundKind(made.kind),
                                                    opened_at=made.opened_at, closed_at=made.closed_at))

    @mutation(description="An inspector lists a case in the open inspection round (or records that a listed case "
                          "was found again).")
    def record_campaign_case(self, info: strawberry.Info, input: RecordCampaignCaseInput) -> RecordCampaignCasePayload:
        same_as = (input_pk(input.same_as, "CampaignCase", field="sameAs", message=_("Case not found."))
                   if input.same_as is not None else None)
        recorded = services.case_record(
            actor=viewer(info).user, campaign=campaign_of(input.campaign_id), type_code=input.type_code[:30],
            lng=input.lng, lat=input.lat, area_m2=input.area_m2, site=input.site, responsible_unit=input.responsible_unit,
            note=input.note[:500], same_as=same_as, new_case=input.new_case,
            client_request_id=(input.client_request_id or "")[:64] or None, photos=input.photos)
        return _recorded_payload(info, recorded)

    @mutation(description="Move a case's work on: agree the plan, start, finish (demolished or rectified as its type "
                          "says), work a recurred case again.")
    def act_on_campaign_case(self, info: strawberry.Info, input: ActOnCampaignCaseInput) -> CampaignCasePayload:
        pk = input_pk(input.case_id, "CampaignCase", field="caseId", message=_("Case not found."))
        return CampaignCasePayload(case=services.case_act(
            actor=viewer(info).user, case_id=pk, action=input.action.value, note=input.note[:500],
            client_request_id=(input.client_request_id or "")[:64] or None, expected_version=input.expected_version,
            photos=input.photos))

    @mutation(description="The look-back round's verdict on a finished case: passed, or recurred.")
    def look_back_campaign_case(self, info: strawberry.Info, input: LookBackCampaignCaseInput) -> CampaignCasePayload:
        pk = input_pk(input.case_id, "CampaignCase", field="caseId", message=_("Case not found."))
        return CampaignCasePayload(case=services.look_back(
            actor=viewer(info).user, case_id=pk, recurred=input.recurred, note=input.note[:500],
            client_request_id=(input.client_request_id or "")[:64] or None, photos=input.photos))
