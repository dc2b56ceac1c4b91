"""Campaigns (their names and types, for every signed-in member of staff) and their cases (restricted like the
grids they are in), the ledger's figures."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry import relay

from api.base.grids import watched_grids
from api.context import viewer
from api.fields import django_type, field
from api.nodes import MODEL_ID
from api.restrict import Public, Restricted
from core.files import file_link_sign
from gridapp.campaigns import services
from gridapp.campaigns.models import Campaign, CampaignCase, CaseStatus, RoundKind
from gridapp.campaigns.workflow import Action

CaseStatusEnum = strawberry.enum(CaseStatus, name="CampaignCaseStatus")
RoundKindEnum = strawberry.enum(RoundKind, name="CampaignRoundKind")
CaseActionEnum = strawberry.enum(Action, name="CampaignCaseAction")


@strawberry.type(name="CampaignCaseTypeInfo")
class CaseTypeInfo:
    code: str
    name: str
    name_en: str
    outcome: str = strawberry.field(description="What finishing its work means: demolished or rectified.")


@strawberry.type(name="CampaignPlace")
class PlaceInfo:
    name: str
    name_en: str
    lng: float
    lat: float
    radius_m: int


@strawberry.type(name="CampaignRound")
class RoundInfo:
    number: int
    kind: RoundKindEnum
    opened_at: datetime
    closed_at: datetime | None


@django_type(Campaign, name="Campaign", description="A campaign with its places, case types and rounds.")
class CampaignType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    name_en: str
    description: str
    started_on: date

    @field(prefetch_related=["case_types"])
    def case_types(self, root: Campaign) -> list[CaseTypeInfo]:
        return [CaseTypeInfo(code=t.code, name=t.name, name_en=t.name_en, outcome=t.outcome)
                for t in root.case_types.all()]

    @field(prefetch_related=["places"])
    def places(self, root: Campaign) -> list[PlaceInfo]:
        return [PlaceInfo(name=p.name, name_en=p.name_en, lng=p.lng, lat=p.lat, radius_m=p.radius_m)
                for p in root.places.all()]

    @field(prefetch_related=["rounds"])
    def rounds(self, root: Campaign) -> list[RoundInfo]:
        return [RoundInfo(number=r.number, kind=RoundKind(r.kind), opened_at=r.opened_at, closed_at=r.closed_at)
                for r in root.rounds.all()]


@strawberry.type(name="CampaignCasePhoto")
class CasePhotoInfo:
    stage: str = strawberry.field(description="before, after or look_back.")
    width: int
    height: int
    url: str = strawberry.field(description="Signed link to the photo (JPEG, no metadata); it expires.")
    thumbnail_url: str


@strawberry.type(name="CampaignCaseStep")
class CaseStep:
    at: datetime
    actor: str
    action: str
    from_status: str
    to_status: str
    round: int | None
    note: str


@django_type(CampaignCase, name="CampaignCase", description="One household or site with one plan in a campaign's "
                                                                "ledger: seen like its grid.")
class CampaignCaseType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    number: str
    lng: float
    lat: float
    site: str
    responsible_unit: str
    status: CaseStatusEnum
    outcome: str
    recurrences: int
    version: int
    created_at: datetime
    updated_at: datetime

    @field(only=["area_m2"], description="Square metres.")
    def area_m2(self, root: CampaignCase) -> float:
        return float(root.area_m2)

    @field(select_related=["case_type"], only=["case_type__code", "case_type__name", "case_type__name_en",
                                                "case_type__outcome"])
    def case_type(self, root: CampaignCase) -> CaseTypeInfo:
        t = root.case_type
        return CaseTypeInfo(code=t.code, name=t.name, name_en=t.name_en, outcome=t.outcome)

    @field(select_related=["place"], description="The campaign's place it is in, if any.")
    def place(self, root: CampaignCase) -> str | None:
        return root.place.name if root.place_id else None

    @field(select_related=["grid"], only=["grid__code"])
    def grid_code(self, root: CampaignCase) -> str:
        return root.grid.code

    @field(prefetch_related=["history__round"], description="Its listing, sightings and every action, in order.")
    def history(self, root: CampaignCase) -> list[CaseStep]:
        return [CaseStep(at=h.at, actor=h.actor_label, action=h.action, from_status=h.from_status,
                         to_status=h.to_status, round=h.round.number if h.round_id else None, note=h.note)
                for h in root.history.all()]

    @field(prefetch_related=["photos"], description="Before and after the work, and at the look-back.")
    def photos(self, root: CampaignCase) -> list[CasePhotoInfo]:
        return [CasePhotoInfo(stage=p.stage, width=p.width, height=p.height,
                              url=file_link_sign(kind="campaign_photo", pk=p.pk, variant="i"),
                              thumbnail_url=file_link_sign(kind="campaign_photo", pk=p.pk, variant="t"))
                for p in root.photos.all()]

    @field(only=["status", "grid_id"], description="What the viewer may do next (the phone's buttons).")
    def available_actions(self, root: CampaignCase, info: strawberry.Info) -> list[CaseActionEnum]:
        patrolled, supervised = watched_grids(info)
        relations = services.case_relations(viewer(info).user, root, patrolled=patrolled, supervised=supervised)
        return [Action(a) for a in services.CASE_WORKFLOW.actions_open_to(relations, root.status)]


@strawberry.type(name="CampaignLedgerLine")
class LedgerLineType:
    type_code: str
    type_label: str
    status: str = strawberry.field(description="A case status, or for `outcomes` what the work achieved.")
    cases: int
    area_m2: float
    place: str | None = None
    grid: str | None = None

    @classmethod
    def of(cls, line) -> LedgerLineType:
        return cls(type_code=line.type_code, type_label=line.type_label, status=line.status, cases=line.cases,
                   area_m2=float(Decimal(line.area_m2)), place=line.place, grid=line.grid)


@strawberry.type(name="CampaignLedger", description="A campaign's ledger report, over the cases the viewer may see.")
class LedgerType:
    campaign: CampaignType
    outcomes: list[LedgerLineType] = strawberry.field(description="By type and what the work achieved "
                                                                  "(look-back passed included, recurrences not).")
    lines: list[LedgerLineType] = strawberry.field(description="By type and status.")
    by_place: list[LedgerLineType]
    by_grid: list[LedgerLineType]
    recurred: int
    open: int = strawberry.field(description="Cases whose work is not finished (campaignCases(open: true) lists "
                                             "them).")
    exports: list[str] = strawberry.field(description="The ledger as CSV, XLSX and a printable PDF (A4, Chinese or "
                                                      "English): fetch them with the same bearer token.")
