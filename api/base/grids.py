"""The viewer's grids, read once per request, for the types that say per row what the viewer may do there."""

from __future__ import annotations

from accounts.models import Role
from api.context import viewer
from gridapp.geography.selectors import grid_ids_of_worker, grid_ids_supervised_by


def watched_grids(info) -> tuple[frozenset[int], frozenset[int]]:
    """The viewer's patrolled and supervised grids, read once per request."""
    who = viewer(info)
    cached = getattr(who, "_watched_grids", None)
    if cached is None:
        user = who.user
        patrolled = frozenset(grid_ids_of_worker(user).values_list("content_object_id", flat=True)) \
            if user.role == Role.GRID_WORKER else frozenset()
        supervised = frozenset(grid_ids_supervised_by(user).values_list("id", flat=True)) \
            if user.role == Role.SUPERVISOR else frozenset()
        cached = who._watched_grids = (patrolled, supervised)
    return cached
