"""Reads of the geography, restricted to what a user may see."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from accounts.models import Role
from gridapp.geography.models import (
    BaseRecord,
    Community,
    Generation,
    Grid,
    GridUserObjectPermission,
    IndustryGrid,
    Street,
)

PATROL_PERMISSION = "patrol_grid"


def grid_ids_of_worker(user) -> QuerySet:
    """Ids of the grids ``user`` works in, as a subquery (one join on the direct permission table).

    Only while ``user`` is a grid worker: an assignment left behind when the role changes grants nothing (every
    grid, record, camera, notice and change a worker sees through their grids goes through here).
    """
    if getattr(user, "role", None) != Role.GRID_WORKER:
        return GridUserObjectPermission.objects.none().values("content_object_id")
    return GridUserObjectPermission.objects.filter(
        user_id=user.pk, permission__codename=PATROL_PERMISSION, permission__content_type__app_label="gridapp"
    ).values("content_object_id")


def grids_of_worker(user) -> QuerySet[Grid]:
    """The grids ``user`` is assigned to as a grid worker."""
    if user is None or not user.is_authenticated:
        return Grid.objects.none()
    return Grid.objects.current().filter(pk__in=grid_ids_of_worker(user)).order_by("code")


def grids_visible_to(user) -> QuerySet[Grid]:
    """Grid versions a user may see (lists add ``.current()``).

    The district-wide roles and department staff see every grid (staff work
    across the basic grids their industry grids overlap, and need the map
    around them); grid workers see every version of the grids they work in;
    others none.  Old versions stay visible so a record located before a
    redraw still shows the grid it was located in.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Grid.objects.none()
    if user.sees_whole_district or user.is_department_staff:
        return Grid.objects.all()
    return Grid.objects.filter(pk__in=grid_ids_of_worker(user))


def streets_visible_to(user) -> QuerySet[Street]:
    if user is None or not user.is_authenticated or not user.is_active:
        return Street.objects.none()
    if user.sees_whole_district or user.is_department_staff:
        return Street.objects.all()
    return Street.objects.filter(communities__grids__in=grids_visible_to(user)).distinct()


def communities_visible_to(user) -> QuerySet[Community]:
    if user is None or not user.is_authenticated or not user.is_active:
        return Community.objects.none()
    if user.sees_whole_district or user.is_department_staff:
        return Community.objects.all()
    return Community.objects.filter(grids__in=grids_visible_to(user)).distinct()


def grid_workers(grid: Grid) -> QuerySet:
    """Active users assigned to ``grid``."""
    user_ids = GridUserObjectPermission.objects.filter(
        content_object=grid, permission__codename=PATROL_PERMISSION
    ).values("user_id")
    return get_user_model().objects.filter(pk__in=user_ids, is_active=True, role=Role.GRID_WORKER).order_by("username")


def generation_current() -> Generation | None:
    return Generation.objects.order_by("-id").first()


def generation_current_version() -> tuple | None:
    """The current generation's identity: its id and creation time (an id alone can be reused after a rollback)."""
    return Generation.objects.order_by("-id").values_list("id", "created_at").first()


def grid_ids_of_department(department_id: int) -> QuerySet:
    """Basic grids (any version) that the department's industry grids overlap, as a subquery."""
    return IndustryGrid.basic_grids.through.objects.filter(
        industrygrid__department_id=department_id).values("grid_id")


def industry_grids_visible_to(user) -> QuerySet[IndustryGrid]:
    """Industry-grid versions a user may see: as basic grids are seen.

    The district-wide roles and department staff see every industry grid (a zone's boundary is no more
    private than the basic grids, which they all see); a grid worker sees the zones that overlap the grids
    they work in; others none (``locate`` still tells anyone a point's zone codes, as it names a grid).
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return IndustryGrid.objects.none()
    if user.sees_whole_district or user.is_department_staff:
        return IndustryGrid.objects.all()
    return IndustryGrid.objects.filter(pk__in=IndustryGrid.basic_grids.through.objects.filter(
        grid_id__in=grid_ids_of_worker(user)).values("industrygrid_id"))


def records_visible_to(user) -> QuerySet[BaseRecord]:
    """Base records a user may see.

    The command centre (district-wide roles) sees all; department staff see the
    records in the basic grids their department's industry grids overlap; a grid
    worker sees the records of the grids they work in (every version of them
    they were assigned, so records located before a redraw stay visible); others
    none.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return BaseRecord.objects.none()
    if user.sees_whole_district:
        return BaseRecord.objects.all()
    if user.is_department_staff:
        return BaseRecord.objects.filter(grid_id__in=grid_ids_of_department(user.department_id))
    return BaseRecord.objects.filter(grid_id__in=grid_ids_of_worker(user))


def grid_ids_supervised_by(user) -> QuerySet:
    """Ids of the grids (any version) in the communities and streets ``user`` supervises, as a subquery."""
    return Grid.objects.filter(Q(community__supervisors=user) | Q(community__street__supervisors=user)).values("id")


def grid_ids_watched_by(user) -> list[QuerySet]:
    """The subqueries of grid ids whose changes reach ``user`` through the grid: patrolled, and supervised."""
    watched = [grid_ids_of_worker(user)]
    if user.role == Role.SUPERVISOR:
        watched.append(grid_ids_supervised_by(user))
    return watched


def grid_ids_watched_set(user) -> frozenset[int]:
    """``grid_ids_watched_by`` evaluated: for a subscriber's cheap pre-filter."""
    ids = set(grid_ids_of_worker(user).values_list("content_object_id", flat=True))
    if user.role == Role.SUPERVISOR:
        ids.update(grid_ids_supervised_by(user).values_list("id", flat=True))
    return frozenset(ids)
