"""Reads of incidents, restricted to what a user may see: who sees which event, overdue, my tasks, the map."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import Role
from core.db import binary_cursor, rows_fetch
from core.restriction import restricted
from gridapp.geography.models import Grid, GridUserObjectPermission
from gridapp.geography.selectors import PATROL_PERMISSION, grid_ids_of_worker, grid_ids_supervised_by
from gridapp.incidents.models import OPEN_STATUSES, EscalationLevel, Event, EventCategory, EventPhoto, EventStatus


def event_audience(user) -> Q | None:
    """The condition on events that ``user`` may see; None means every event (see ``events_visible_to``)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.sees_whole_district:
        return None
    audience = Q(reporter_id=user.pk) | Q(assignee_id=user.pk)
    if user.is_department_staff:
        audience |= Q(department_id=user.department_id)
    if user.role == Role.GRID_WORKER:
        audience |= Q(grid_id__in=grid_ids_of_worker(user))
    if user.role == Role.SUPERVISOR:
        audience |= Q(grid_id__in=grid_ids_supervised_by(user))
    return audience


def events_visible_to(user, events: QuerySet[Event] | None = None) -> QuerySet[Event]:
    """Events (cases and duplicate reports; of ``events``, default all) ``user`` may see.

    The command centre and auditors see all; everyone sees what they reported
    or are assigned; department staff see what is routed to their department;
    grid workers the events in the grids they work in; supervisors those in
    their communities and streets.  The change feed addresses every event
    change to the same audience (grid, department, reporter), so what a user
    may read here is what reaches them live.
    """
    events = Event.objects.all() if events is None else events
    audience = event_audience(user)
    return events if audience is None else events.filter(audience)


def event_photos_visible_to(user, photos: QuerySet[EventPhoto] | None = None) -> QuerySet[EventPhoto]:
    """The photos (of ``photos``, default all) of the events ``user`` may see."""
    photos = EventPhoto.objects.all() if photos is None else photos
    audience = event_audience(user)
    return photos if audience is None else photos.filter(event__in=Event.objects.filter(audience).values("pk"))


def event_overdue(now=None) -> Q:
    """An open event past its stage's deadline: the one definition behind every list, the map and the
    statistics (``Event.is_overdue`` is the same test on one loaded event)."""
    return Q(status__in=OPEN_STATUSES, deadline__lt=now or timezone.now())


#: The order of "my tasks", the same on every database: the task due soonest first; tasks with no deadline
#: (a case on hold has its clock stopped) after every dated one; ties oldest first.  NULLS LAST is said
#: outright because SQLite sorts NULL first and PostgreSQL last; on PostgreSQL it is ASC's own default, so the
#: plan is that of a plain ``ORDER BY deadline, id`` (EXPLAIN: the same index scans and top-N sort).  The
#: keyset cursor of ``myTasks`` reads where NULL goes from this order, so paging keeps it.
TASK_ORDER = (F("deadline").asc(nulls_last=True), "id")


def event_tasks_of(user) -> QuerySet[Event]:
    """'My tasks': the open events waiting for ``user`` to act.

    Assigned to them and not yet resolved; for department staff, their
    department's new and accepted cases (to accept or dispatch); for grid
    workers and supervisors, resolutions in their grids waiting to be verified
    by someone other than the resolver.  In ``TASK_ORDER``.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Event.objects.none()
    waiting = Q(assignee_id=user.pk, status__in=[EventStatus.DISPATCHED, EventStatus.IN_PROGRESS])
    if user.is_department_staff:
        waiting |= Q(department_id=user.department_id, status__in=[EventStatus.REPORTED, EventStatus.ACCEPTED])
    to_verify = Q(status=EventStatus.RESOLVED) & ~Q(resolved_by_id=user.pk)
    # The few grid ids as literals, so that PostgreSQL reads the (grid, status) index instead of every
    # resolution in the district.
    if user.role == Role.GRID_WORKER:
        waiting |= to_verify & Q(grid_id__in=list(grid_ids_of_worker(user).values_list("content_object_id", flat=True)))
    if user.role == Role.SUPERVISOR:
        waiting |= to_verify & Q(grid_id__in=list(grid_ids_supervised_by(user).values_list("id", flat=True)))
    return restricted(Event.objects.filter(waiting), user).order_by(*TASK_ORDER)


def event_duplicate_candidates(*, category_id: int, lng: float, lat: float, since) -> QuerySet[Event]:
    """Open cases of one category reported since ``since`` inside a box around a point (the caller measures)."""
    radius = settings.EVENT_DUPLICATE_RADIUS_M
    dlat = radius / 111_320.0
    dlng = radius / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    return Event.objects.filter(
        category_id=category_id, status__in=OPEN_STATUSES, reported_at__gte=since,
        lng__gte=lng - dlng, lng__lte=lng + dlng, lat__gte=lat - dlat, lat__lte=lat + dlat,
    ).order_by("id")


def users_at_escalation_level(event: Event, level: int) -> QuerySet:
    """Who an overdue event is escalated to at ``level``: the grid's workers (and the assignee), the
    community's and the street's supervisors, the command centre's operators."""
    users = get_user_model().objects.filter(is_active=True)
    if level == EscalationLevel.GRID:
        worker_ids = GridUserObjectPermission.objects.filter(
            content_object_id=event.grid_id, permission__codename=PATROL_PERMISSION).values("user_id")
        return users.filter(Q(pk__in=worker_ids, role=Role.GRID_WORKER) | Q(pk=event.assignee_id)).order_by("pk")
    if level == EscalationLevel.COMMUNITY:
        return users.filter(supervised_communities=event.community_id).order_by("pk")
    if level == EscalationLevel.STREET:
        return users.filter(supervised_streets=event.street_id).order_by("pk")
    return users.filter(role=Role.OPERATOR).order_by("pk")


@dataclass(frozen=True)
class LayerRows:
    """Events for a map, as rows, with the code and names of each grid and category they name."""

    rows: list[tuple]  # (id, case number, lng, lat, status, overdue now, grid id, category id), newest first
    grids: dict[int, tuple[str, str]]  # id -> (code, name)
    categories: dict[int, tuple[str, str, str]]  # id -> (code, name, English name)


def event_layer_rows(events: QuerySet[Event], *, limit: int) -> LayerRows:
    """Up to ``limit`` of ``events`` (already restricted to the viewer), newest first, for the command centre's
    map: two queries, the events without joins (names would repeat on every row) and the names of the grids
    and categories they name, both read in PostgreSQL's binary format (``core.db.rows_fetch``).
    """
    late = Case(When(event_overdue(), then=Value(True)), default=Value(False))
    rows = rows_fetch(events.order_by("-id").annotate(late=late).values_list(
        "id", "case_number", "lng", "lat", "status", "late", "grid_id", "category_id")[:limit])
    if not rows:
        return LayerRows(rows=[], grids={}, categories={})
    names = _layer_names(events.db, sorted({row[6] for row in rows}), sorted({row[7] for row in rows}))
    return LayerRows(rows=rows, grids={pk: (code, name) for kind, pk, code, name, _en in names if kind == "grid"},
                     categories={pk: (code, name, name_en) for kind, pk, code, name, name_en in names
                                 if kind == "category"})


def _layer_names(using: str, grid_ids: list[int], category_ids: list[int]) -> list[tuple]:
    """(kind, id, code, name, English name) of the grids and categories: one query."""
    if connections[using].vendor == "postgresql":
        # the ids as two array parameters: an IN list of hundreds of parameters is slow to plan
        with binary_cursor(using) as cursor:
            cursor.execute(
                f"SELECT 'grid', id, code, name, '' FROM {Grid._meta.db_table} WHERE id = ANY(%s) UNION ALL "
                f"SELECT 'category', id, code, name, name_en FROM {EventCategory._meta.db_table} WHERE id = ANY(%s)",
                [grid_ids, category_ids])
            return cursor.fetchall()
    grids = Grid.objects.filter(pk__in=grid_ids).order_by().annotate(
        kind=Value("grid"), name_en=Value("")).values_list("kind", "id", "code", "name", "name_en")
    categories = EventCategory.objects.filter(pk__in=category_ids).order_by().annotate(
        kind=Value("category")).values_list("kind", "id", "code", "name", "name_en")
    return list(grids.union(categories, all=True))
