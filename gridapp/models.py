"""Streets, communities and the basic grids that tile the district.

Boundaries are GeoJSON geometries (WGS-84, lng/lat order) kept as JSON so the
embedded SQLite mode needs no spatial extension; locating runs in-process over
shapely geometries.  Each level keeps its bounding box in plain columns for
cheap map-window filters.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


class Area(models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    boundary = models.JSONField(_("boundary (GeoJSON, WGS-84)"))
    min_lng = models.FloatField()
    min_lat = models.FloatField()
    max_lng = models.FloatField()
    max_lat = models.FloatField()
    area_m2 = models.FloatField(_("area (m²)"), default=0)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Street(Area):
    """A street (sub-district, 街道): the level below the district."""

    class Meta(Area.Meta):
        verbose_name = _("street")
        verbose_name_plural = _("streets")


class Community(Area):
    """A community (社区) within a street."""

    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="communities", verbose_name=_("street"))

    class Meta(Area.Meta):
        verbose_name = _("community")
        verbose_name_plural = _("communities")


class Grid(Area):
    """A basic grid (基础网格): the smallest unit of city management."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="grids", verbose_name=_("community")
    )
    centroid_lng = models.FloatField()
    centroid_lat = models.FloatField()

    class Meta(Area.Meta):
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        permissions = [("patrol_grid", _("Work as a grid worker of this grid"))]


class GridUserObjectPermission(UserObjectPermissionBase):
    """Direct-foreign-key permission table for grids (guardian), so 'my grids' is one join."""

    content_object = models.ForeignKey(Grid, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "permission"])]


class GridGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Grid, on_delete=models.CASCADE)


class GridNotice(models.Model):
    """A notice the command centre sends to the grid workers of one grid."""

    grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="notices", verbose_name=_("grid"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("body"), max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("grid notice")
        verbose_name_plural = _("grid notices")

    def __str__(self) -> str:
        return self.title
