"""The enterprise-service board: a park's enterprises publish what they offer and need, search each other's posts,
answer them; the park's operator hides what does not belong there.

Search finds Chinese text as a person types it, any part of a word.  A LIKE ``%...%`` does that by reading every
post's text, which grows with the board; PostgreSQL's text search splits Chinese into nothing useful.  So each post
keeps its terms (``terms_of``: each pair of neighbouring Chinese characters, each latin word or number) in
``search_terms``, whose ``tsvector`` has a GIN index (migration 0006): a search finds the posts holding every term
of the query through the index, and checks only those for the text itself (the pairs of a query may sit apart in a
post).  ``bench/board.py`` measures both ways.  A query of single characters only has no pair to look up and is
matched by LIKE among the newest ``SHORT_QUERY_SCAN`` posts; on SQLite (the embedded mode, a newcomer's few posts)
the LIKE is the search.  The index needs a database whose ctype is a UTF-8 locale (``C.UTF-8``, ``zh_CN.UTF-8``):
under plain ``C`` PostgreSQL's parser drops Chinese characters.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from core.audiences import scope
from core.feed import change_record
from core.services import notification_send
from parks.models import (
    BoardCategory,
    BoardKind,
    BoardPost,
    BoardResponse,
    BoardStatus,
    EmployeeStatus,
    Enterprise,
)
from parks.selectors import staff_of

#: Han characters (with the compatibility and extension blocks people type), and latin words or numbers.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[0-9a-z]+")
QUERY_MAX_TERMS = 24
SHORT_QUERY_SCAN = 2000


def text_normalise(text: str) -> str:
    """Full-width to half-width, lower case: what is indexed and what is searched for read alike."""
    return unicodedata.normalize("NFKC", text or "").lower()


def terms_of(text: str) -> set[str]:
    """The search terms of ``text``: each pair of neighbouring Han characters (a run of one: the character),
    each latin word or number (at most 24 characters)."""
    text = text_normalise(text)
    terms = set()
    for run in _HAN.findall(text):
        terms.update(run[i:i + 2] for i in range(max(1, len(run) - 1)))
    terms.update(word[:24] for word in _WORD.findall(text))
    return terms


def search_terms_of(title: str, body: str) -> str:
    """What ``BoardPost.search_terms`` holds for this title and text."""
    return " ".join(sorted(terms_of(f"{title}\n{body}")))


def _visible_text(text: str) -> str:
    """``text`` without the invisible format characters (zero-width spaces, joiners, direction marks), stripped."""
    return "".join(char for char in (text or "") if unicodedata.category(char) != "Cf").strip()


def _working_in(actor, enterprise: Enterprise) -> bool:
    return enterprise.employees.filter(user=actor, status=EmployeeStatus.ACTIVE).exists()


def post_publish(*, actor, enterprise: Enterprise, kind: str, category: str, title: str, body: str) -> BoardPost:
    """An employee publishes an offer or a need of their enterprise on its park's board.  Raises
    ``PermissionDenied``, ``ValidationError`` with ``required``, ``too_long``, ``not_a_choice``."""
    if not _working_in(actor, enterprise):
        raise PermissionDenied(_("Only the enterprise's employees may publish for it."))
    title, body = _visible_text(title), _visible_text(body)
    errors = {}
    for field, value, limit in (("title", title, 80), ("body", body, 2000)):
        if not value:
            errors[field] = ValidationError(_("This field is required."), code="required")
        elif len(value) > limit:
            errors[field] = ValidationError(_("At most %(limit)d characters.") % {"limit": limit}, code="too_long")
    if kind not in BoardKind.values:
        errors["kind"] = ValidationError(_("Offer or need."), code="not_a_choice")
    if category not in BoardCategory.values:
        errors["category"] = ValidationError(_("Not a category of the board."), code="not_a_choice")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        post = BoardPost.objects.create(park_id=enterprise.park_id, enterprise=enterprise, author=actor, kind=kind,
                                        category=category, title=title, body=body,
                                        search_terms=search_terms_of(title, body),
                                        search_text=text_normalise(f"{title}\n{body}"))
        change_record(kind="board.published", obj=post, to=[scope("park", post.park_id)])
    return post


def post_close(*, actor, post_id: int) -> BoardPost:
    """The enterprise closes its post (found what it needed).  Raises ``PermissionDenied``, ``ValidationError``
    (``not_found``)."""
    post = BoardPost.objects.select_related("enterprise").filter(pk=post_id).first()
    if post is None:
        raise ValidationError({"postId": ValidationError(_("Post not found."), code="not_found")})
    if not _working_in(actor, post.enterprise):
        raise PermissionDenied(_("Only the enterprise's employees may close its posts."))
    BoardPost.objects.filter(pk=post.pk, status=BoardStatus.PUBLISHED).update(status=BoardStatus.CLOSED)
    post.refresh_from_db()
    return post


def post_moderate(*, actor, post_id: int, hide: bool, note: str = "") -> BoardPost:
    """The park's operator hides a post (a note says why; the enterprise sees it) or shows it again.  Raises
    ``PermissionDenied``, ``ValidationError`` with ``not_found``, ``required``."""
    post = BoardPost.objects.select_related("park").filter(pk=post_id).first()
    if post is None:
        raise ValidationError({"postId": ValidationError(_("Post not found."), code="not_found")})
    if staff_of(actor, post.park) is None:
        raise PermissionDenied(_("Only the park's operator may moderate its board."))
    note = (note or "").strip()[:200]
    if hide and not note:
        raise ValidationError({"note": ValidationError(_("Say why the post is hidden."), code="required")})
    with transaction.atomic():
        post.status = BoardStatus.HIDDEN if hide else BoardStatus.PUBLISHED
        post.moderation_note, post.moderated_by = note, actor
        post.save(update_fields=["status", "moderation_note", "moderated_by"])
        to = [scope("park", post.park_id)] + ([scope("user", post.author_id)] if post.author_id else [])
        change_record(kind=f"board.{post.status}", obj=post, to=to)
    return post


def response_send(*, actor, post_id: int, enterprise: Enterprise, body: str) -> BoardResponse:
    """An employee answers another enterprise's published post in the same park; the post's author is notified.
    Raises ``PermissionDenied``, ``ValidationError`` with ``not_found``, ``required``, ``too_long``, ``own_post``."""
    post = BoardPost.objects.select_related("author").filter(pk=post_id, status=BoardStatus.PUBLISHED).first()
    if post is None or post.park_id != enterprise.park_id:
        raise ValidationError({"postId": ValidationError(_("Post not found."), code="not_found")})
    if not _working_in(actor, enterprise):
        raise PermissionDenied(_("Only the enterprise's employees may answer for it."))
    if post.enterprise_id == enterprise.pk:
        raise ValidationError({"postId": ValidationError(_("This is your enterprise's own post."), code="own_post")})
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ValidationError(_("This field is required."), code="required")})
    if len(body) > 1000:
        raise ValidationError({"body": ValidationError(_("At most %(limit)d characters.") % {"limit": 1000},
                                                       code="too_long")})
    with transaction.atomic():
        response = BoardResponse.objects.create(post=post, enterprise=enterprise, author=actor, body=body)
        if post.author is not None:
            notification_send(recipient=post.author, title=_("%(enterprise)s answered “%(title)s”") % {
                "enterprise": enterprise.name, "title": post.title}, body=body[:200],
                source=f"board-response:{response.pk}")
    return response


def _recent_containing(posts: QuerySet[BoardPost], wanted: str) -> QuerySet[BoardPost]:
    recent = list(posts.order_by("-created_at", "-id").values_list("pk", flat=True)[:SHORT_QUERY_SCAN])
    return posts.filter(pk__in=recent, search_text__contains=wanted)


def board_search(posts: QuerySet[BoardPost], text: str) -> QuerySet[BoardPost]:
    """``posts`` whose title or text holds ``text`` (any part of a word, case and width ignored): on PostgreSQL
    through the terms' index, then the text itself checked among the candidates."""
    wanted = text_normalise(text).strip()
    lookup = sorted(term for term in terms_of(wanted) if not (len(term) == 1 and _HAN.fullmatch(term)))
    if not lookup:
        return _recent_containing(posts, wanted) if wanted else posts.none()
    found = posts
    if connection.vendor == "postgresql":
        holds = RawSQL("to_tsvector('simple', parks_boardpost.search_terms) @@ to_tsquery('simple', %s)",
                       [" & ".join(f"'{term}'" for term in lookup[:QUERY_MAX_TERMS])])
        found = found.filter(ExpressionWrapper(holds, output_field=BooleanField()))
    for part in _HAN.findall(wanted) + _WORD.findall(wanted):  # the parts as typed, not only their pairs
        found = found.filter(search_text__contains=part)
    return found
