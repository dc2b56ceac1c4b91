"""Campaigns, their cases as the viewer may see them, and the ledger report."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
import strawberry_django
from django.utils.translation import gettext as _
from strawberry import relay

from api.base.ids import node_pk_or_none
from api.campaigns.types import CampaignCaseType, CampaignType, CaseStatusEnum, LedgerLineType, LedgerType
from api.context import viewer
from api.errors import GraphQLCodedError
from api.paging import CursorConnection
from api.permissions import IsAuthenticated
from gridapp.campaigns.models import FINISHED, Campaign, CampaignCase
from gridapp.campaigns.selectors import campaign_ledger, cases_visible_to


def campaign_of(campaign_id: relay.GlobalID) -> Campaign:
    pk = node_pk_or_none(campaign_id, "Campaign")
    campaign = Campaign.objects.filter(pk=pk).first() if pk is not None else None
    if campaign is None:
        raise GraphQLCodedError(_("Campaign not found."), "not_found")
    return campaign


def _staff(info: strawberry.Info):
    user = viewer(info).user
    if not (user.sees_whole_district or user.is_department_staff or user.role in ("grid_worker", "supervisor")):
        raise GraphQLCodedError(_("Campaigns are for the district's staff."), "permission_denied")
    return user


@strawberry.type
class CampaignQuery:
    @strawberry_django.connection(CursorConnection[CampaignType], permission_classes=[IsAuthenticated],
                                  description="The district's campaigns, newest first (its staff).")
    def campaigns(self, info: strawberry.Info) -> Iterable[Campaign]:
        _staff(info)
        return Campaign.objects.order_by("-started_on", "code")

    @strawberry_django.connection(CursorConnection[CampaignCaseType], permission_classes=[IsAuthenticated],
                                  description="A campaign's cases the viewer may see, by number; open: only those "
                                              "whose work is not finished.")
    def campaign_cases(self, info: strawberry.Info, campaign_id: relay.GlobalID, status: CaseStatusEnum | None = None,
                       open: bool = False) -> Iterable[CampaignCase]:
        cases = cases_visible_to(viewer(info).user).filter(campaign=campaign_of(campaign_id))
        if status is not None:
            cases = cases.filter(status=status.value)
        if open:
            cases = cases.exclude(status__in=FINISHED)
        return cases.order_by("number")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="A campaign's ledger report over the cases the viewer may see (the command centre: "
                                  "all): counts and m² by type and outcome, by type and status, by place, by grid.")
    def campaign_ledger(self, info: strawberry.Info, campaign_id: relay.GlobalID) -> LedgerType:
        user = _staff(info)
        campaign = campaign_of(campaign_id)
        ledger = campaign_ledger(campaign, cases_visible_to(user))
        return LedgerType(campaign=campaign, outcomes=[LedgerLineType.of(line) for line in ledger.outcomes],
                          lines=[LedgerLineType.of(line) for line in ledger.lines],
                          by_place=[LedgerLineType.of(line) for line in ledger.by_place],
                          by_grid=[LedgerLineType.of(line) for line in ledger.by_grid],
                          recurred=ledger.recurred, open=len(ledger.open_cases),
                          exports=[f"/exports/campaign-ledger.{fmt}?campaign={relay.to_base64('Campaign', campaign.pk)}"
                                   for fmt in ("csv", "xlsx", "pdf")])
