"""Writes of the grid: boundary generations and redraws, worker assignments, notices to a grid."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Role
from core.actor import acting_as
from core.audiences import scope
from core.feed import change_record
from core.outbox import task_enqueue
from core.services import notification_send
from gridapp.geography.geometry import polygon_area_m2
from gridapp.geography.models import Generation, Grid, GridNotice, GridUserObjectPermission, IndustryGrid
from gridapp.geography.selectors import PATROL_PERMISSION, grid_workers

PATROL_PERM = f"gridapp.{PATROL_PERMISSION}"


def _require_district_role(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.commands_district:
        raise PermissionDenied(_("Only the command centre may do this."))


def grid_assign_worker(*, actor, grid: Grid, worker, client_ip: str | None = None) -> None:
    """Make ``worker`` a grid worker of ``grid`` (a permission change, audited).

    Who may call: command-centre operators and administrators (or ``actor=None``
    for seeding).  Raises ``ValidationError(code="not_a_grid_worker")`` when the
    user does not have the grid-worker role, ``PermissionDenied`` otherwise.
    """
    if actor is not None:
        _require_district_role(actor)
    if worker.role != Role.GRID_WORKER:
        raise ValidationError(_("Only grid workers can be assigned to a grid."), code="not_a_grid_worker")
    with transaction.atomic():
        with acting_as(actor, client_ip):  # audited by core.permission_audit
            assign_perm(PATROL_PERM, worker, grid)
        change_record(kind="grid.assigned", obj=grid, to=[scope("user", worker.pk)])


def grid_unassign_worker(*, actor, grid: Grid, worker, client_ip: str | None = None) -> None:
    """Remove ``worker`` from ``grid``.  Who may call: as ``grid_assign_worker``."""
    if actor is not None:
        _require_district_role(actor)
    with transaction.atomic():
        with acting_as(actor, client_ip):
            remove_perm(PATROL_PERM, worker, grid)
        change_record(kind="grid.unassigned", obj=grid, to=[scope("user", worker.pk)])


def grid_notice_post(*, author, grid: Grid, title: str, body: str = "") -> GridNotice:
    """Post a notice to a grid; a Celery task delivers it to each of the grid's workers.

    Who may call: command-centre operators and administrators.  Raises
    ``PermissionDenied`` for anyone else and ``ValidationError`` (code
    ``required`` / ``too_long``) for an empty or oversized title or body.
    """
    _require_district_role(author)
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        raise ValidationError({"title": ValidationError(_("A title is required."), code="required")})
    if len(title) > 120 or len(body) > 2000:
        raise ValidationError(_("The title (120) or the body (2000 characters) is too long."), code="too_long")
    from gridapp.tasks import grid_notice_deliver_task

    with transaction.atomic():
        notice = GridNotice.objects.create(grid=grid, author=author, title=title, body=body)
        change_record(kind="grid_notice.posted", obj=notice, to=[scope("grid", grid.pk)])
        task_enqueue(grid_notice_deliver_task, notice.pk)
    return notice


def grid_notice_deliver(*, notice_id: int) -> int:
    """Put a notice into the inbox of every worker of its grid; returns how many were new.

    Who may call: the ``grid_notice_deliver_task`` Celery task.  Idempotent: a
    retried delivery notifies nobody twice (see ``notification_send``).
    """
    notice = GridNotice.objects.select_related("grid").filter(pk=notice_id).first()
    if notice is None:
        return 0
    delivered = 0
    for worker in grid_workers(notice.grid):
        if notification_send(recipient=worker, title=notice.title, body=notice.body, source=f"grid_notice:{notice.pk}"):
            delivered += 1
    GridNotice.objects.filter(pk=notice.pk, delivered_at__isnull=True).update(delivered_at=timezone.now())
    return delivered


def generation_create(*, description: str) -> Generation:
    """Open a new boundary generation.  Who may call: boundary imports and redraws, in their transaction."""
    return Generation.objects.create(description=description[:200])


def boundary_polygon(geometry: dict):
    """A valid, non-empty polygon from GeoJSON, or ``ValidationError(code="invalid_geometry")``."""
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    try:
        polygon = shape(geometry)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise ValidationError(_("The boundary is not valid GeoJSON: %(error)s") % {"error": exc},
                              code="invalid_geometry") from None
    if polygon.geom_type != "Polygon" or polygon.is_empty:
        raise ValidationError(_("The boundary must be one polygon."), code="invalid_geometry")
    if not polygon.is_valid:
        raise ValidationError(_("The boundary is not a valid polygon: %(reason)s") % {"reason": explain_validity(polygon)},
                              code="invalid_geometry")
    return polygon


def area_fields(polygon) -> dict:
    """Bounding box, area and GeoJSON of a polygon, as stored on every area."""
    import json

    import shapely

    min_lng, min_lat, max_lng, max_lat = polygon.bounds
    return {"boundary": json.loads(shapely.to_geojson(polygon)), "min_lng": min_lng, "min_lat": min_lat, "max_lng": max_lng,
            "max_lat": max_lat, "area_m2": round(polygon_area_m2(polygon), 1)}


def industry_coverage_refresh(*, industry_grids=None) -> None:
    """Recompute which current basic grids each industry grid overlaps (with positive area)."""
    import shapely
    from shapely.geometry import shape

    grids = list(Grid.objects.current().values_list("id", "boundary"))
    if not grids:
        return
    polygons = [shape(boundary) for _id, boundary in grids]
    tree = shapely.STRtree(polygons)
    targets = industry_grids if industry_grids is not None else IndustryGrid.objects.current()
    current_ids = {grid_id for grid_id, _boundary in grids}
    for industry_grid in targets:
        polygon = shape(industry_grid.boundary)
        overlapping = {grids[i][0] for i in tree.query(polygon, predicate="intersects")
                       if polygons[i].intersection(polygon).area > 1e-12}
        linked = set(industry_grid.basic_grids.values_list("id", flat=True))
        # retired grid versions stay linked: the records located in them stay visible to the department
        industry_grid.basic_grids.remove(*((linked & current_ids) - overlapping))
        industry_grid.basic_grids.add(*(overlapping - linked))


def boundaries_redraw(*, actor, changes: dict[str, dict], description: str) -> list[Grid]:
    """Redraw basic grids: each code in ``changes`` gets a new version with the new boundary.

    The old versions are retired into history (``generation_high`` is the new
    generation) and keep their records; the new versions inherit the grid
    workers, and industry-grid coverage is recomputed.  Every process's locator
    switches to the new generation within ``LOCATOR_CHECK_SECONDS``.
    Who may call: administrators and the command centre (``actor=None`` for
    imports).  Raises ``PermissionDenied``, ``ValidationError`` with code
    ``not_found`` (unknown code) or ``invalid_geometry``.
    """
    if actor is not None:
        _require_district_role(actor)
    polygons = {code: boundary_polygon(geometry) for code, geometry in changes.items()}
    with transaction.atomic():
        old = {grid.code: grid for grid in Grid.objects.current().select_for_update().filter(code__in=polygons)}
        missing = sorted(set(polygons) - set(old))
        if missing:
            raise ValidationError(_("No current grid with code %(codes)s.") % {"codes": ", ".join(missing)},
                                  code="not_found")
        generation = generation_create(description=description)
        redrawn = []
        for code, polygon in sorted(polygons.items()):
            previous = old[code]
            Grid.objects.filter(pk=previous.pk).update(generation_high=generation)
            centroid = polygon.centroid
            grid = Grid.objects.create(code=code, name=previous.name, community_id=previous.community_id,
                                       centroid_lng=centroid.x, centroid_lat=centroid.y,
                                       generation_low=generation, **area_fields(polygon))
            GridUserObjectPermission.objects.bulk_create(
                GridUserObjectPermission(user_id=row.user_id, permission_id=row.permission_id, content_object=grid)
                for row in GridUserObjectPermission.objects.filter(content_object=previous)
            )
            change_record(kind="grid.redrawn", obj=grid, to=[scope("grid", previous.pk)])
            change_record(kind="grid.redrawn", obj=grid, to=[scope("grid", grid.pk)])
            redrawn.append(grid)
        industry_coverage_refresh()
    return redrawn
