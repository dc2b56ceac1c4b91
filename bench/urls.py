"""OneGrid's URLs plus the baselines the GraphQL API is measured against: hand-written Django JSON views that
return exactly what the mobile home-screen query and the map layer query return, written the way one would
without GraphQL."""

from __future__ import annotations

from django.db.models import Case, Prefetch, Value, When
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from strawberry import relay

from accounts.services import AuthError, bearer_authenticate
from api.media import photo_url
from config.urls import urlpatterns as onegrid_urlpatterns
from core.i18n import localized
from gridapp.incidents.models import OPEN_STATUSES, EventPhoto, EventStatus
from gridapp.incidents.selectors import TASK_ORDER, event_overdue, event_tasks_of, events_visible_to


def _user(request):
    return bearer_authenticate(request.META.get("HTTP_AUTHORIZATION"), required=True)[0]


def home_view(request):
    try:
        user = _user(request)
    except AuthError as error:
        return JsonResponse({"errors": [{"message": error.message}]}, status=401)
    events = (event_tasks_of(user).order_by(*TASK_ORDER).select_related("grid", "category")  # myTasks' order
              .only("id", "case_number", "status", "deadline", "grid__code", "grid__name", "category__code",
                    "category__name", "category__name_en")
              .prefetch_related(Prefetch("photos", queryset=EventPhoto.objects.order_by("id").only("id", "event_id"),
                                         to_attr="photo_ids"))[:20])
    edges = [{"node": {
        "id": str(relay.GlobalID("Event", str(event.pk))),
        "caseNumber": event.case_number,
        "status": event.status.upper(),
        "deadline": timezone.localtime(event.deadline).isoformat() if event.deadline else None,
        "isOverdue": event.is_overdue(),
        "thumbnailUrl": photo_url(event.photo_ids[0].pk, "t") if event.photo_ids else None,
        "grid": {"code": event.grid.code, "name": event.grid.name},
        "category": {"code": event.category.code, "name": event.category.display_name()},
    }} for event in events]
    return JsonResponse({"data": {"myTasks": {"edges": edges}}}, json_dumps_params={"ensure_ascii": False})


def layer_view(request):
    """The map layer's baseline: the 10,000 newest open cases in columns, the plain way (one ORM query with the
    grid and category names joined in, lists built by hand)."""
    try:
        user = _user(request)
    except AuthError as error:
        return JsonResponse({"errors": [{"message": error.message}]}, status=401)
    late = Case(When(event_overdue(), then=Value(True)), default=Value(False))
    rows = list(events_visible_to(user).exclude(status=EventStatus.DUPLICATE).filter(status__in=OPEN_STATUSES)
                .order_by("-id").annotate(late=late).values_list(
                    "id", "lng", "lat", "status", "late", "grid_id", "category_id", "grid__code", "grid__name",
                    "category__code", "category__name", "category__name_en")[:10000])
    grids, categories = {}, {}
    for row in rows:
        grids.setdefault(row[5], (row[7], row[8]))
        categories.setdefault(row[6], (row[9], row[10], row[11]))
    grid_at = {pk: index for index, pk in enumerate(grids)}
    category_at = {pk: index for index, pk in enumerate(categories)}
    layer = {
        "count": len(rows), "ids": [str(relay.GlobalID("Event", str(row[0]))) for row in rows],
        "lngs": [row[1] for row in rows], "lats": [row[2] for row in rows],
        "statuses": [row[3].upper() for row in rows], "overdue": [row[4] for row in rows],
        "gridIndex": [grid_at[row[5]] for row in rows], "categoryIndex": [category_at[row[6]] for row in rows],
        "gridCodes": [code for code, _name in grids.values()], "gridNames": [name for _code, name in grids.values()],
        "categoryCodes": [code for code, _name, _en in categories.values()],
        "categoryNames": [localized(name, name_en) for _code, name, name_en in categories.values()],
    }
    return JsonResponse({"data": {"eventLayer": layer}}, json_dumps_params={"ensure_ascii": False})


def ping_view(request):
    """The ceiling: what the same server and middleware answer when the view does nothing."""
    return JsonResponse({"ok": True})


urlpatterns = [*onegrid_urlpatterns, path("bench/home", home_view), path("bench/layer", layer_view),
               path("bench/ping", ping_view)]
