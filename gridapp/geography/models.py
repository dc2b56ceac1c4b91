"""Streets, communities, basic grids, departments' industry grids, and the base records located in them.

Boundaries are GeoJSON geometries (WGS-84, lng/lat order) kept as JSON so the
embedded SQLite mode needs no spatial extension; locating runs in-process
(``gridapp.geography.locator``).  Each area keeps its bounding box in plain columns for
cheap map-window filters.

Boundaries are versioned by **generations** (MapIt's model): every area row
lives from ``generation_low`` until ``generation_high`` (null while current).
Redrawing a grid retires its row and creates a new one with the same code, so a
record keeps pointing at the grid version it was located in.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


class Generation(models.Model):
    """A release of the district's boundaries; the newest one is current."""

    description = models.CharField(_("description"), max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("boundary generation")
        verbose_name_plural = _("boundary generations")

    def __str__(self) -> str:
        return f"#{self.pk} {self.description}"


class CurrentQuerySet(models.QuerySet):
    def current(self):
        return self.filter(generation_high__isnull=True)


class Area(models.Model):
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    boundary = models.JSONField(_("boundary (GeoJSON, WGS-84)"))
    min_lng = models.FloatField()
    min_lat = models.FloatField()
    max_lng = models.FloatField()
    max_lat = models.FloatField()
    area_m2 = models.FloatField(_("area (m²)"), default=0)
    generation_low = models.ForeignKey(Generation, on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("first generation"))
    generation_high = models.ForeignKey(Generation, on_delete=models.PROTECT, related_name="+", null=True,
                                        blank=True, verbose_name=_("last generation"))

    objects = CurrentQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=models.Q(generation_high__isnull=True),
                                    name="%(app_label)s_%(class)s_one_current_code"),
        ]

    @property
    def is_current(self) -> bool:
        return self.generation_high_id is None

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Street(Area):
    """A street (sub-district, 街道): the level below the district."""

    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="supervised_streets", verbose_name=_("supervisors"),
        help_text=_("Receive escalations of overdue events in the street, approve extensions, see its events."),
    )

    class Meta(Area.Meta):
        verbose_name = _("street")
        verbose_name_plural = _("streets")


class Community(Area):
    """A community (社区) within a street."""

    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="communities", verbose_name=_("street"))
    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="supervised_communities", verbose_name=_("supervisors"),
        help_text=_("Receive escalations of overdue events in the community, approve extensions, see its events."),
    )

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


class IndustryGrid(Area):
    """A department's own zone (sanitation zone, market-supervision area, ...): an overlay
    that need not follow the basic grids."""

    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="industry_grids",
                                   verbose_name=_("department"))
    basic_grids = models.ManyToManyField(
        Grid, related_name="industry_grids", blank=True, verbose_name=_("basic grids it overlaps"),
        help_text=_("Kept by the import and redraw services; decides what the department's staff see."),
    )

    class Meta(Area.Meta):
        verbose_name = _("industry grid")
        verbose_name_plural = _("industry grids")
        constraints = [
            models.UniqueConstraint(fields=["department", "code"], condition=models.Q(generation_high__isnull=True),
                                    name="gridapp_industrygrid_one_current_code"),
        ]


class RecordKind(models.TextChoices):
    BUILDING = "building", _("Building")
    SMALL_SHOP = "small_shop", _("Small shop")
    SMALL_RESTAURANT = "small_restaurant", _("Small restaurant")
    SMALL_HOTEL = "small_hotel", _("Small hotel")
    SMALL_ENTERTAINMENT = "small_entertainment", _("Small entertainment venue")
    SMALL_INTERNET_CAFE = "small_internet_cafe", _("Small internet cafe")
    SMALL_BEAUTY_BATH = "small_beauty_bath", _("Small beauty or bath place")
    SMALL_CLINIC = "small_clinic", _("Small clinic")
    SMALL_SCHOOL = "small_school", _("Small school or kindergarten")
    SMALL_WORKSHOP = "small_workshop", _("Small workshop")
    CAMERA = "camera", _("Camera")


#: The "nine kinds of small places" (九小场所).
SMALL_PLACE_KINDS = tuple(kind for kind in RecordKind if kind.value.startswith("small_"))


class BaseRecord(models.Model):
    """A building, one of the nine kinds of small places, or a camera's catalogue entry.

    ``lng``/``lat`` are WGS-84, whatever the source sent (``source_crs`` says what
    it was); ``grid`` is the grid *version* the record was located in.
    """

    external_id = models.CharField(_("external id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=24, choices=RecordKind.choices)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    lng = models.FloatField(_("longitude (WGS-84)"))
    lat = models.FloatField(_("latitude (WGS-84)"))
    source_crs = models.CharField(_("source reference system"), max_length=8, default="WGS84")
    # no index of its own: the (grid, kind) index serves every lookup by grid
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="records", verbose_name=_("grid"),
                             db_index=False)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        # Few indexes on purpose: each one costs the 1.6 M-row import; a name index would not serve
        # the substring search anyway.
        indexes = [
            models.Index(fields=["grid", "kind"]),
            models.Index(fields=["lng", "lat"]),
        ]
        # A constraint rather than unique=True: on PostgreSQL that would add a second, pattern-matching index.
        constraints = [models.UniqueConstraint(fields=["external_id"], name="gridapp_baserecord_external_id_unique")]
        verbose_name = _("base record")
        verbose_name_plural = _("base records")

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


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
