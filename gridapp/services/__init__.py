"""Every write of the grid, by topic: the geography (``geography``) and incidents (``events``)."""

from gridapp.services.events import (  # noqa: F401
    event_relations,
    event_report,
    event_transition,
    events_escalate,
    events_transition_bulk,
)
from gridapp.services.geography import (  # noqa: F401
    PATROL_PERM,
    area_fields,
    boundaries_redraw,
    boundary_polygon,
    event_categories_seed,
    generation_create,
    grid_assign_worker,
    grid_notice_deliver,
    grid_notice_post,
    grid_unassign_worker,
    industry_coverage_refresh,
)
