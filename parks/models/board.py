"""The enterprise-service board (``parks.board``): what a park's enterprises offer and need, the answers they send
each other, and the operator's moderation."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from parks.models.site import Enterprise, Park


class BoardKind(models.TextChoices):
    OFFER = "offer", _("Offer")
    NEED = "need", _("Need")


class BoardCategory(models.TextChoices):
    TECHNOLOGY = "technology", _("Technology and software")
    MANUFACTURING = "manufacturing", _("Manufacturing and supply")
    TALENT = "talent", _("Talent and training")
    FINANCE = "finance", _("Finance and investment")
    LEGAL = "legal", _("Legal, IP and accounting")
    MARKETING = "marketing", _("Marketing and design")
    SPACE = "space", _("Offices, venues and equipment")
    OTHER = "other", _("Other")


class BoardStatus(models.TextChoices):
    PUBLISHED = "published", _("Published")
    CLOSED = "closed", _("Closed by the enterprise")
    HIDDEN = "hidden", _("Hidden by the operator")


class BoardPost(models.Model):
    """An enterprise's offer or need on its park's board."""

    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="board_posts")
    enterprise = models.ForeignKey(Enterprise, verbose_name=_("enterprise"), on_delete=models.CASCADE,
                                   related_name="board_posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("kind"), max_length=6, choices=BoardKind.choices)
    category = models.CharField(_("category"), max_length=14, choices=BoardCategory.choices)
    title = models.CharField(_("title"), max_length=80)
    body = models.TextField(_("text"), max_length=2000)
    status = models.CharField(_("status"), max_length=10, choices=BoardStatus.choices,
                              default=BoardStatus.PUBLISHED)
    moderation_note = models.CharField(_("moderator's note"), max_length=200, blank=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    #: Its search terms (``parks.board.terms_of``: each pair of neighbouring Chinese characters, each latin word),
    #: space-separated; on PostgreSQL a GIN index over their ``tsvector`` finds the posts that hold all of a query's.
    search_terms = models.TextField(default="", editable=False)
    #: The title and text as searched (``parks.board.text_normalise``: half width, lower case), which the candidates
    #: the index found are checked against.
    search_text = models.TextField(default="", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("board post")
        verbose_name_plural = _("board posts")
        indexes = [models.Index(fields=["park", "status", "-created_at"], name="board_post_listing")]

    def __str__(self) -> str:
        return self.title


class BoardResponse(models.Model):
    """An enterprise's answer to a post: seen by both enterprises and the park's operator."""

    post = models.ForeignKey(BoardPost, on_delete=models.CASCADE, related_name="responses")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="board_responses")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("board response")
        verbose_name_plural = _("board responses")
