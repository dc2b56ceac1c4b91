from django.contrib import admin
from django.urls import path

from api.approvals import views as certificates
from api.campaigns import views as campaigns
from api.exports import camera_flow_export, statistics_export
from api.health import healthz
from api.incidents.statistics import EXPORT_FORMATS
from api.media import EVENT_PHOTO, file_view
from api.parks import views as parks
from api.sensors import views as sensors
from api.views import bad_request, graphql_view, server_error

urlpatterns = [
    path("graphql/", graphql_view, name="graphql"),
    path("healthz", healthz, name="healthz"),
    # Event photos' links kept their path when every file kind got links (api.media).
    path("photos/<str:token>", file_view, {"kind": EVENT_PHOTO}, name="photo"),
    path("files/<str:kind>/<str:token>", file_view, name="file"),
    *(path(f"exports/event-statistics.{fmt}", statistics_export, {"fmt": fmt}, name=f"event-statistics-{fmt}")
      for fmt in EXPORT_FORMATS),
    *(path(f"exports/application-statistics.{fmt}", certificates.application_statistics_export, {"fmt": fmt},
           name=f"application-statistics-{fmt}") for fmt in ("csv", "xlsx")),
    *(path(f"exports/camera-flow.{fmt}", camera_flow_export, {"fmt": fmt}, name=f"camera-flow-{fmt}")
      for fmt in ("png", "svg")),
    # Signed e-certificates, for anyone: the issuer's keys and status lists (what offline verifiers sync), the
    # page a QR code opens (/V/<code>, or a pasted code at /verify/), the same verdict as JSON, QR codes, printouts.
    path(".well-known/jwks.json", certificates.jwks_view, name="jwks"),
    path("status/<int:number>", certificates.status_list_view, name="status-list"),
    path("V/<path:code>", certificates.verify_page, name="verify-short"),
    path("verify/", certificates.verify_page, name="verify"),
    path("verify.json", certificates.verify_json, name="verify-json"),
    *(path(f"verify/qr.{fmt}", certificates.qr_view, {"fmt": fmt}, name=f"verify-qr-{fmt}") for fmt in ("png", "svg")),
    *(path(f"verify/certificate.{fmt}", certificates.printout_view, {"fmt": fmt}, name=f"verify-print-{fmt}")
      for fmt in ("png", "pdf")),
    # Park gates (their keys, their signed bundles, their uploaded logs) and visitors' passes.
    *(path(f"exports/campaign-ledger.{fmt}", campaigns.campaign_ledger_export, {"fmt": fmt},
           name=f"campaign-ledger-{fmt}") for fmt in ("csv", "xlsx", "pdf")),
    path("exports/household-usage.png", sensors.household_usage_chart, name="household-usage"),
    path("parks/<slug:park>/jwks.json", parks.park_jwks_view, name="park-jwks"),
    path("parks/<slug:park>/gates/<slug:gate>/bundle", parks.gate_bundle_view, name="gate-bundle"),
    path("parks/passages", parks.passages_upload_view, name="gate-passages"),
    *(path(f"exports/park-map.{fmt}", parks.park_map_export, {"fmt": fmt}, name=f"park-map-{fmt}")
      for fmt in ("png", "svg")),
    path("parks/lamp-posts/<slug:code>/playlist", parks.lamp_post_playlist_view, name="lamp-post-playlist"),
    path("parks/lamp-posts/<slug:code>/plays", parks.lamp_post_plays_view, name="lamp-post-plays"),
    path("parks/visit/<str:token>", parks.visitor_page, name="visitor-pass"),
    *(path(f"parks/visit/<str:token>/code.{fmt}", parks.visitor_code_view, {"fmt": fmt}, name=f"visitor-code-{fmt}")
      for fmt in ("png", "svg")),
    path("admin/", admin.site.urls),
]
# Errors of any view are JSON in the one shape of api.errors.json_error (503 while the database is down).
handler400 = bad_request
handler500 = server_error
# Media are never served as plain files: every stored file goes through a signed link (api/media.py).
