"""Smart lamp posts (``parks.lampposts``): posts with screens, the enterprises' promotional videos the operator
approves, playlists by time slot and post, and what each post reports it played."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from parks.models.site import Building, Enterprise, Park


class LampPost(models.Model):
    """A lamp post with a screen.  Its player asks ``/parks/lamp-posts/<code>/playlist`` with its key (HTTP Bearer;
    ``key_digest`` matches it) and reports what it played."""

    park = models.ForeignKey(Park, verbose_name=_("park"), on_delete=models.CASCADE, related_name="lamp_posts")
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    building = models.ForeignKey(Building, verbose_name=_("building"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="lamp_posts")
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    key_digest = models.CharField(max_length=64, editable=False)
    active = models.BooleanField(_("in service"), default=True)
    last_seen_at = models.DateTimeField(_("last heard from"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["park", "code"]
        verbose_name = _("lamp post")
        verbose_name_plural = _("lamp posts")

    def __str__(self) -> str:
        return self.name


class VideoStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class PromoVideo(models.Model):
    """An enterprise's promotional video for the lamp posts' screens: checked and stored on upload (MP4 or WebM,
    size-limited), played only once the park's operator approved it."""

    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="promo_videos")
    enterprise = models.ForeignKey(Enterprise, verbose_name=_("enterprise"), on_delete=models.CASCADE,
                                   related_name="promo_videos")
    title = models.CharField(_("title"), max_length=100)
    file = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    seconds = models.FloatField(_("length (s)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=VideoStatus.choices, default=VideoStatus.SUBMITTED)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(_("reviewer's note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("promotional video")
        verbose_name_plural = _("promotional videos")

    def __str__(self) -> str:
        return self.title


class PlaylistSlot(models.Model):
    """What the park's posts (or some of them) play on some days between two times: its videos in order, looped.
    Where slots overlap, the one that starts latest wins (a lunch-hour slot inside an all-day one)."""

    park = models.ForeignKey(Park, verbose_name=_("park"), on_delete=models.CASCADE, related_name="playlist_slots")
    name = models.CharField(_("name"), max_length=60)
    #: ISO weekdays, 1 (Monday) to 7.
    days = models.JSONField(_("days"), default=list)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))
    posts = models.ManyToManyField(LampPost, verbose_name=_("lamp posts"), blank=True, related_name="slots",
                                   help_text=_("None: every post of the park."))
    videos = models.ManyToManyField(PromoVideo, through="PlaylistEntry", related_name="slots")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["park", "starts", "id"]
        verbose_name = _("playlist slot")
        verbose_name_plural = _("playlist slots")
        constraints = [models.CheckConstraint(name="slot_starts_before_it_ends",
                                              condition=models.Q(ends__gt=models.F("starts")))]

    def __str__(self) -> str:
        return f"{self.name} {self.starts:%H:%M}-{self.ends:%H:%M}"


class PlaylistEntry(models.Model):
    slot = models.ForeignKey(PlaylistSlot, on_delete=models.CASCADE, related_name="entries")
    video = models.ForeignKey(PromoVideo, on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["slot", "position"]
        constraints = [models.UniqueConstraint(fields=["slot", "position"], name="one_video_per_slot_position")]


class PlayReport(models.Model):
    """A video a post played, as the post reported it (a report sent twice is stored once)."""

    post = models.ForeignKey(LampPost, on_delete=models.CASCADE, related_name="plays")
    video = models.ForeignKey(PromoVideo, on_delete=models.CASCADE, related_name="plays")
    started_at = models.DateTimeField()
    seconds = models.FloatField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("play report")
        verbose_name_plural = _("play reports")
        constraints = [models.UniqueConstraint(fields=["post", "video", "started_at"], name="one_report_per_play")]
