from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path

from api.health import healthz
from api.views import graphql_view

urlpatterns = [
    path("graphql/", graphql_view, name="graphql"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
