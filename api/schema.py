"""The one GraphQL schema: every domain's queries, mutations and subscriptions merged."""

from __future__ import annotations

import strawberry
import strawberry_django
from django.conf import settings
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.tools import merge_types
from strawberry_django.optimizer import DjangoOptimizerExtension

from api.accounts.mutations import AccountMutation
from api.accounts.queries import AccountQuery
from api.approvals.mutations import ApplicationsMutation, ApprovalsMutation, AuthorisationsMutation
from api.approvals.queries import ApprovalsQuery
from api.approvals.subscriptions import ApplicationsSubscription, ApprovalsSubscription
from api.audit.queries import AuditQuery
from api.campaigns.mutations import CampaignMutation
from api.campaigns.queries import CampaignQuery
from api.execution import OneGridExecutor
from api.extensions import OneGridSchema, protection_extensions
from api.feed import FeedMutation, FeedQuery, FeedSubscription
from api.grid.mutations import GridMutation
from api.grid.queries import GridQuery
from api.grid.types import IndustryGridType
from api.incidents.mutations import EventMutation
from api.incidents.queries import EventQuery
from api.incidents.statistics import StatisticsQuery
from api.incidents.subscriptions import EventSubscription
from api.nodes import NodeIdCheck
from api.parks.mutations import ParksMutation
from api.parks.queries import ParksQuery
from api.parks.subscriptions import ParksSubscription
from api.permissions import IsAuthenticated
from api.scalars import COLUMN_SCALARS, SCALAR_OVERRIDES
from api.sensors.mutations import SensorMutation
from api.sensors.queries import SensorQuery
from api.vision.mutations import VisionMutation
from api.vision.queries import VisionQuery
from api.vision.subscriptions import VisionSubscription


@strawberry.type
class NodeQuery:
    node: relay.Node | None = strawberry_django.node(
        permission_classes=[IsAuthenticated], extensions=[NodeIdCheck()],
        description="Any object by its global id, if the viewer may see it (each type restricts its own queryset).",
    )


Query = merge_types("Query", (AccountQuery, GridQuery, EventQuery, StatisticsQuery, FeedQuery, AuditQuery,
                                      VisionQuery, ApprovalsQuery, ParksQuery, CampaignQuery, SensorQuery, NodeQuery))
Mutation = merge_types("Mutation", (AccountMutation, GridMutation, EventMutation, FeedMutation, VisionMutation,
                                             ApprovalsMutation, ApplicationsMutation,
                                             AuthorisationsMutation, ParksMutation, CampaignMutation,
                                             SensorMutation))
Subscription = merge_types("Subscription", (FeedSubscription, EventSubscription, VisionSubscription,
                                             ApprovalsSubscription, ApplicationsSubscription, ParksSubscription))



class QuerysetOptimizer(DjangoOptimizerExtension):
    """strawberry-django's optimizer without its per-field hook.

    Its fields optimize their own querysets (``StrawberryDjangoField.get_queryset`` asks the active optimizer);
    the hook only catches querysets returned by other resolvers, and OneGrid has none, while it wrapped every
    field of every response (its share of a list query's time: `bench/api.py --only home`).
    """

    resolve = SchemaExtension.resolve


class CachedNameConverter(NameConverter):
    """strawberry's names, each Python name camel-cased once: the optimizer looks up the GraphQL name of every
    field of a type for each field it plans, on every request (`bench/api.py --only home` shows their cost)."""

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        try:
            return self._names[name]
        except KeyError:
            converted = self._names[name] = super().apply_naming_config(name)
            return converted


def build_schema() -> strawberry.Schema:
    """The schema with the protections that ``settings.GRAPHQL`` asks for."""
    return OneGridSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[IndustryGridType],  # reached only by node(id:), with the ids that locate hands out
        extensions=[QuerysetOptimizer, *protection_extensions()],
        config=StrawberryConfig(relay_max_results=settings.GRAPHQL["MAX_PAGE_SIZE"], scalar_map=COLUMN_SCALARS,
                                name_converter=CachedNameConverter()),
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=OneGridExecutor,
    )


schema = build_schema()
