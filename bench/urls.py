"""OneGrid's URLs plus the baseline the GraphQL API is measured against: a hand-written Django JSON view
that returns exactly what the mobile home-screen query returns, written the way one would without GraphQL."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from strawberry import relay

from accounts.services import AuthError, token_authenticate
from api.media import photo_url
from config.urls import urlpatterns as onegrid_urlpatterns
from gridapp.models import EventPhoto
from gridapp.selectors import event_tasks_of


def home_view(request):
    scheme, _sep, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    try:
        user, _token = token_authenticate(raw)
    except AuthError as error:
        return JsonResponse({"errors": [{"message": error.message}]}, status=401)
    events = (event_tasks_of(user).select_related("grid", "category")
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


def ping_view(request):
    """The ceiling: what the same server and middleware answer when the view does nothing."""
    return JsonResponse({"ok": True})


urlpatterns = [*onegrid_urlpatterns, path("bench/home", home_view), path("bench/ping", ping_view)]
