"""Campaign ledgers: a campaign (clearing the illegal structures of the district's hill parks) with its scope,
its inspection and look-back rounds, and its ledger of cases, one household or site with one plan each."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Campaign(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    description = models.TextField(_("description"), blank=True)
    #: The grids it covers (with its places); a case is located to its grid.
    grids = models.ManyToManyField("gridapp.Grid", verbose_name=_("grids"), blank=True, related_name="campaigns")
    #: The incident categories whose incidents raise cases of the campaign (私搭乱建 for illegal structures).
    event_categories = models.ManyToManyField("gridapp.EventCategory", verbose_name=_("incident categories"),
                                              blank=True, related_name="campaigns")
    started_on = models.DateField(_("started on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_on", "code"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class CampaignPlace(models.Model):
    """A place the campaign covers (a hill park): its cases within ``radius_m`` of its centre belong to it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="places")
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    lng = models.FloatField(_("longitude (WGS-84)"))
    lat = models.FloatField(_("latitude (WGS-84)"))
    radius_m = models.PositiveIntegerField(_("radius (m)"), default=500)

    class Meta:
        ordering = ["campaign", "name"]
        verbose_name = _("campaign place")
        verbose_name_plural = _("campaign places")
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="campaign_place_name_unique")]

    def __str__(self) -> str:
        return self.name


class CaseOutcome(models.TextChoices):
    DEMOLISHED = "demolished", _("Demolished")
    RECTIFIED = "rectified", _("Rectified")


class CaseType(models.Model):
    """A kind of case of a campaign (an illegal structure; destroyed or occupied green space; others as the
    campaign needs), and what finishing its work means (``outcome``)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="case_types")
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    outcome = models.CharField(_("outcome of the work"), max_length=10, choices=CaseOutcome.choices)

    class Meta:
        ordering = ["campaign", "code"]
        verbose_name = _("case type")
        verbose_name_plural = _("case types")
        constraints = [models.UniqueConstraint(fields=["campaign", "code"], name="case_type_code_unique")]

    def __str__(self) -> str:
        return self.name


class RoundKind(models.TextChoices):
    INSPECTION = "inspection", _("Inspection")
    LOOK_BACK = "look_back", _("Look-back re-inspection")


class CampaignRound(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveSmallIntegerField(_("round"))
    kind = models.CharField(_("kind"), max_length=10, choices=RoundKind.choices, default=RoundKind.INSPECTION)
    opened_at = models.DateTimeField(_("opened"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["campaign", "number"]
        verbose_name = _("campaign round")
        verbose_name_plural = _("campaign rounds")
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="campaign_round_unique")]

    def __str__(self) -> str:
        return f"{self.campaign} #{self.number}"


class CaseStatus(models.TextChoices):
    LISTED = "listed", _("Listed")
    PLAN_AGREED = "plan_agreed", _("Plan agreed")
    IN_PROGRESS = "in_progress", _("In progress")
    DEMOLISHED = "demolished", _("Demolished")
    RECTIFIED = "rectified", _("Rectified")
    LOOK_BACK_PASSED = "look_back_passed", _("Look-back passed")
    RECURRED = "recurred", _("Recurred")


#: The statuses whose work is finished (the look-back round re-inspects them).
FINISHED = (CaseStatus.DEMOLISHED, CaseStatus.RECTIFIED, CaseStatus.LOOK_BACK_PASSED)


class CampaignCase(models.Model):
    """One household or one site with one plan: where, what, how large, who is responsible, and where its work
    stands (``gridapp.campaigns.workflow``)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="cases")
    number = models.CharField(_("case number"), max_length=20)
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="cases",
                                  verbose_name=_("type"))
    place = models.ForeignKey(CampaignPlace, on_delete=models.PROTECT, null=True, blank=True, related_name="cases",
                              verbose_name=_("place"))
    grid = models.ForeignKey("gridapp.Grid", on_delete=models.PROTECT, related_name="campaign_cases",
                             verbose_name=_("grid"))
    lng = models.FloatField(_("longitude (WGS-84)"))
    lat = models.FloatField(_("latitude (WGS-84)"))
    site = models.CharField(_("household or site"), max_length=100)
    area_m2 = models.DecimalField(_("area (m²)"), max_digits=9, decimal_places=1)
    responsible_unit = models.CharField(_("responsible unit"), max_length=100)
    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.LISTED)
    #: What finishing the work was, once finished (kept through the look-back; a recurrence clears it).
    outcome = models.CharField(_("outcome"), max_length=10, choices=CaseOutcome.choices, blank=True)
    recurrences = models.PositiveSmallIntegerField(_("recurrences"), default=0)
    first_round = models.ForeignKey(CampaignRound, on_delete=models.PROTECT, related_name="+")
    event = models.ForeignKey("gridapp.Event", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="campaign_cases", verbose_name=_("incident"))
    version = models.PositiveIntegerField(default=1)
    deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "number"]
        verbose_name = _("campaign case")
        verbose_name_plural = _("campaign cases")
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="campaign_case_number_unique")]
        indexes = [models.Index(fields=["campaign", "case_type", "status"], name="campaign_case_ledger")]

    def __str__(self) -> str:
        return self.number


class CaseHistory(models.Model):
    """Every step of a case: its listing, each sighting in a round, each action of its workflow.  A phone's
    ``client_request_id`` makes a retried update one update."""

    case = models.ForeignKey(CampaignCase, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    round = models.ForeignKey(CampaignRound, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    client_request_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("case history")
        verbose_name_plural = _("case history")
        constraints = [models.UniqueConstraint(fields=["actor", "client_request_id"], name="one_update_per_request")]


class CasePhotoStage(models.TextChoices):
    BEFORE = "before", _("Before the work")
    AFTER = "after", _("After the work")
    LOOK_BACK = "look_back", _("At the look-back")


class CasePhoto(models.Model):
    """A photo of a case from the inspector's or grid worker's phone (checked and re-encoded by the file service),
    at the step it was sent with."""

    case = models.ForeignKey(CampaignCase, on_delete=models.CASCADE, related_name="photos")
    history = models.ForeignKey(CaseHistory, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(_("stage"), max_length=10, choices=CasePhotoStage.choices)
    image = models.CharField(max_length=200)
    thumbnail = models.CharField(max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "id"]
        verbose_name = _("case photo")
        verbose_name_plural = _("case photos")
