"""The grid's data, by topic: the geography (``geography``) and incidents (``events``)."""

from gridapp.models.events import (  # noqa: F401
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
from gridapp.models.geography import (  # noqa: F401
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
