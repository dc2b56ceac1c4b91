"""Every model of the ``gridapp`` app, so Django finds them: each is defined in its room (``gridapp.geography.models``,
``gridapp.incidents.models``, ``gridapp.campaigns.models``) and imported from there by the code."""

from gridapp.campaigns.models import (  # noqa: F401
    Campaign,
    CampaignCase,
    CampaignPlace,
    CampaignRound,
    CaseHistory,
    CaseOutcome,
    CaseStatus,
    CaseType,
    RoundKind,
)
from gridapp.geography.models import (  # noqa: F401
    SMALL_PLACE_KINDS,
    Area,
    BaseRecord,
    Community,
    CurrentQuerySet,
    Generation,
    Grid,
    GridGroupObjectPermission,
    GridNotice,
    GridUserObjectPermission,
    IndustryGrid,
    RecordKind,
    Street,
)
from gridapp.incidents.models import (  # noqa: F401
    OPEN_STATUSES,
    CaseCounter,
    EscalationLevel,
    Event,
    EventCategory,
    EventEscalation,
    EventHistory,
    EventPhoto,
    EventSource,
    EventStatus,
    PhotoStage,
    Platform,
    Severity,
)
