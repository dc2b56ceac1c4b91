from django.contrib import admin
from django.urls import path

from api.exports import camera_flow_export, statistics_export
from api.health import healthz
from api.incidents.statistics import EXPORT_FORMATS
from api.media import EVENT_PHOTO, file_view
from api.views import bad_request, graphql_view, server_error

urlpatterns = [
    path("graphql/", graphql_view, name="graphql"),
    path("healthz", healthz, name="healthz"),
    # Event photos' links kept their path when every file kind got links (api.media).
    path("photos/<str:token>", file_view, {"kind": EVENT_PHOTO}, name="photo"),
    path("files/<str:kind>/<str:token>", file_view, name="file"),
    *(path(f"exports/event-statistics.{fmt}", statistics_export, {"fmt": fmt}, name=f"event-statistics-{fmt}")
      for fmt in EXPORT_FORMATS),
    *(path(f"exports/camera-flow.{fmt}", camera_flow_export, {"fmt": fmt}, name=f"camera-flow-{fmt}")
      for fmt in ("png", "svg")),
    path("admin/", admin.site.urls),
]
# Errors of any view are JSON in the one shape of api.errors.json_error (503 while the database is down).
handler400 = bad_request
handler500 = server_error
# Media are never served as plain files: every stored file goes through a signed link (api/media.py).
