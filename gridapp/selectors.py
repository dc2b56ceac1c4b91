"""Reads of the geography, restricted to what a user may see."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from gridapp.models import Community, Grid, GridUserObjectPermission, Street

PATROL_PERMISSION = "patrol_grid"


def grid_ids_of_worker(user) -> QuerySet:
    """Ids of the grids ``user`` works in, as a subquery (one join on the direct permission table)."""
    return GridUserObjectPermission.objects.filter(
        user_id=user.pk, permission__codename=PATROL_PERMISSION, permission__content_type__app_label="gridapp"
    ).values("content_object_id")


def grids_of_worker(user) -> QuerySet[Grid]:
    """The grids ``user`` is assigned to as a grid worker."""
    if user is None or not user.is_authenticated:
        return Grid.objects.none()
    return Grid.objects.filter(pk__in=grid_ids_of_worker(user)).order_by("code")


def grids_visible_to(user) -> QuerySet[Grid]:
    """Every grid's outline is public within the staff app; workers see their own detail.

    The district-wide roles see all grids, department staff see all grids (the
    industry-grid overlay that narrows them comes with the grid issue), grid
    workers see the grids they work in, others none.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Grid.objects.none()
    if user.sees_whole_district or user.is_department_staff:
        return Grid.objects.all()
    return grids_of_worker(user)


def streets_visible_to(user) -> QuerySet[Street]:
    if user is None or not user.is_authenticated or not user.is_active:
        return Street.objects.none()
    if user.sees_whole_district or user.is_department_staff:
        return Street.objects.all()
    return Street.objects.filter(communities__grids__in=grids_of_worker(user)).distinct()


def communities_visible_to(user) -> QuerySet[Community]:
    if user is None or not user.is_authenticated or not user.is_active:
        return Community.objects.none()
    if user.sees_whole_district or user.is_department_staff:
        return Community.objects.all()
    return Community.objects.filter(grids__in=grids_of_worker(user)).distinct()


def grid_workers(grid: Grid) -> QuerySet:
    """Active users assigned to ``grid``."""
    user_ids = GridUserObjectPermission.objects.filter(
        content_object=grid, permission__codename=PATROL_PERMISSION
    ).values("user_id")
    return get_user_model().objects.filter(pk__in=user_ids, is_active=True).order_by("username")
