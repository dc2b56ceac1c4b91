from django.contrib import admin
from django.urls import path

from api.health import healthz
from api.media import photo_view
from api.views import graphql_view

urlpatterns = [
    path("graphql/", graphql_view, name="graphql"),
    path("healthz", healthz, name="healthz"),
    path("photos/<str:token>", photo_view, name="photo"),
    path("admin/", admin.site.urls),
]
# Media are never served as plain files: event photos go through signed links (api/media.py).
