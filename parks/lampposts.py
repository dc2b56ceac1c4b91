"""Smart lamp posts: enterprises submit promotional videos, the park's operator approves them and schedules
playlists by time slot and post; each post asks for its current playlist (versioned, so a player downloads only
what changed) and reports what it played.

A post authenticates with the key made when it was registered (only its digest is kept).  Its playlist is the
slot of the park that covers it now (its own or all posts, today's weekday, the time of day); where slots overlap,
the one that started latest wins, so a lunch-hour slot can sit inside an all-day one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.audiences import scope
from core.feed import change_record
from core.files import file_discard, file_ingest, file_kind, file_store
from parks.keys import secret_digest
from parks.models import (
    EmployeeStatus,
    Enterprise,
    LampPost,
    Park,
    PlaylistEntry,
    PlaylistSlot,
    PlayReport,
    PromoVideo,
    VideoStatus,
)
from parks.selectors import staff_of

log = logging.getLogger(__name__)

VIDEO_KIND = "promo_video"
#: Videos in one slot, play reports in one request.
SLOT_MAX_VIDEOS = 50
REPORT_MAX_PLAYS = 1000
#: A play report older than this, or later than the server's clock by more than PLAY_MAX_AHEAD, is refused.
PLAY_MAX_AGE = timedelta(days=7)
PLAY_MAX_AHEAD = timedelta(minutes=5)
PLAY_MAX_SECONDS = 3600.0


def lamp_post_create(*, park: Park, code: str, name: str, name_en: str = "", building=None, longitude=None,
                     latitude=None) -> tuple[LampPost, str]:
    """Register a post; returns it with its key, shown this once (only the digest is kept)."""
    key = secrets.token_urlsafe(32)
    try:
        post = LampPost.objects.create(park=park, code=code, name=name, name_en=name_en, building=building,
                                       longitude=longitude, latitude=latitude, key_digest=secret_digest(key))
    except IntegrityError as error:
        raise ValueError(f"a lamp post {code!r} exists") from error
    return post, key


def lamp_post_authenticate(*, code: str, key: str | None) -> LampPost | None:
    """The active post ``code`` if ``key`` is its own; None otherwise, and the refusal logged (an unknown post and a
    wrong key get the same answer)."""
    post = LampPost.objects.filter(code=code[:40], active=True).first()
    if post is None or not key or not hmac.compare_digest(post.key_digest, secret_digest(key)):
        log.warning("lamp post refused: %s (%s)", code[:40], "unknown_post" if post is None else "bad_key")
        return None
    LampPost.objects.filter(pk=post.pk).update(last_seen_at=timezone.now())
    return post


# --- videos --------------------------------------------------------------------------------------------------------

def _video_seconds(name: str) -> float | None:
    """The stored video's length, read by OpenCV where the storage is a local folder (None where it cannot say)."""
    try:
        path = file_kind(VIDEO_KIND).storage_backend.path(name)
    except NotImplementedError:
        return None
    import cv2

    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    try:
        frames, fps = capture.get(cv2.CAP_PROP_FRAME_COUNT), capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return round(frames / fps, 2) if frames > 0 and fps > 0 else None


def video_submit(*, actor, enterprise: Enterprise, title: str, upload) -> PromoVideo:
    """An employee submits a video of their enterprise: checked (MP4 or WebM, under ``FILE_VIDEO_MAX_BYTES``) and
    stored, waiting for the operator's approval; the operator hears of it.

    Who may call: a working employee of ``enterprise``.  Raises ``PermissionDenied``, ``ValidationError`` with
    ``required``, ``too_long`` or the video checks' codes (``not_a_video``, ``video_damaged``, ``file_too_large``,
    ``unsupported_type``)."""
    if not enterprise.employees.filter(user=actor, status=EmployeeStatus.ACTIVE).exists():
        raise PermissionDenied(_("Only the enterprise's employees may submit its videos."))
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": ValidationError(_("This field is required."), code="required")})
    if len(title) > 100:
        raise ValidationError({"title": ValidationError(_("At most %(limit)d characters.") % {"limit": 100},
                                                        code="too_long")})
    ingested = file_ingest(kind=VIDEO_KIND, upload=upload)
    names = file_store(ingested=ingested)
    try:
        with transaction.atomic():
            video = PromoVideo.objects.create(
                park_id=enterprise.park_id, enterprise=enterprise, title=title, file=names["file"],
                content_type=ingested.content_type, size=ingested.size, sha256=ingested.sha256,
                seconds=_video_seconds(names["file"]), submitted_by=actor)
            change_record(kind="promo_video.submitted", obj=video, to=[scope("park", video.park_id)])
    except BaseException:
        file_discard(kind=VIDEO_KIND, names=names.values())
        raise
    return video


def video_review(*, actor, video_id: int, approve: bool, note: str = "") -> PromoVideo:
    """The operator approves a submitted video, or rejects it (a note says why; an approved video can be taken off
    the screens the same way).  Who may call: the park's operator.  Raises ``PermissionDenied``,
    ``ValidationError`` with ``not_found``, ``required`` (a rejection without a note), ``already_decided``."""
    video = PromoVideo.objects.filter(pk=video_id).select_related("park").first()
    if video is None:
        raise ValidationError({"videoId": ValidationError(_("Video not found."), code="not_found")})
    if staff_of(actor, video.park) is None:
        raise PermissionDenied(_("Only the park's operator may approve its videos."))
    note = (note or "").strip()[:200]
    if not approve and not note:
        raise ValidationError({"note": ValidationError(_("Say why the video is rejected."), code="required")})
    allowed = {VideoStatus.SUBMITTED} | ({VideoStatus.APPROVED} if not approve else set())
    with transaction.atomic():
        video = PromoVideo.objects.select_for_update().get(pk=video_id)
        if video.status not in allowed:
            raise ValidationError({"videoId": ValidationError(_("This video has been decided already."),
                                                              code="already_decided")})
        video.status = VideoStatus.APPROVED if approve else VideoStatus.REJECTED
        video.reviewed_by, video.reviewed_at, video.review_note = actor, timezone.now(), note
        video.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        to = [scope("park", video.park_id)] + ([scope("user", video.submitted_by_id)] if video.submitted_by_id else [])
        change_record(kind=f"promo_video.{video.status}", obj=video, to=to)
    return video


# --- playlists -----------------------------------------------------------------------------------------------------

def slot_create(*, actor, park: Park, name: str, days: list[int], starts: time, ends: time, post_ids=(),
                video_ids=()) -> PlaylistSlot:
    """Schedule approved videos (played in the given order, looped) on the park's posts (``post_ids``; none: every
    post) on ``days`` (ISO weekdays) from ``starts`` to ``ends``.  Who may call: the park's operator.  Raises
    ``PermissionDenied``, ``ValidationError`` with ``required``, ``too_long``, ``invalid_days``, ``invalid_window``,
    ``not_found`` (a post or video of no such park), ``not_approved``, ``too_many``."""
    if staff_of(actor, park) is None:
        raise PermissionDenied(_("Only the park's operator may schedule its lamp posts."))
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ValidationError(_("This field is required."), code="required")
    elif len(name) > 60:
        errors["name"] = ValidationError(_("At most %(limit)d characters.") % {"limit": 60}, code="too_long")
    days = sorted(set(days or ()))
    if not days or not all(1 <= day <= 7 for day in days) or len(days) > 7:
        errors["days"] = ValidationError(_("Days are 1 (Monday) to 7 (Sunday), at least one."), code="invalid_days")
    if ends <= starts:
        errors["ends"] = ValidationError(_("A slot ends after it starts, on the same day."), code="invalid_window")
    video_ids = list(video_ids)
    if not video_ids:
        errors["videoIds"] = ValidationError(_("Choose at least one video."), code="required")
    elif len(video_ids) > SLOT_MAX_VIDEOS:
        errors["videoIds"] = ValidationError(_("At most %(limit)d videos in a slot.") % {"limit": SLOT_MAX_VIDEOS},
                                             code="too_many")
    videos = PromoVideo.objects.in_bulk([pk for pk in video_ids if isinstance(pk, int)])
    posts = list(LampPost.objects.filter(park=park, pk__in=list(post_ids)))
    if len(posts) != len(set(post_ids)) or any(videos.get(pk) is None or videos[pk].park_id != park.pk
                                                for pk in video_ids):
        field = "postIds" if len(posts) != len(set(post_ids)) else "videoIds"
        errors[field] = ValidationError(_("A post or video is not in this park."), code="not_found")
    elif any(videos[pk].status != VideoStatus.APPROVED for pk in video_ids):
        errors["videoIds"] = ValidationError(_("Only approved videos can be scheduled."), code="not_approved")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        slot = PlaylistSlot.objects.create(park=park, name=name, days=days, starts=starts, ends=ends,
                                           created_by=actor)
        slot.posts.set(posts)
        PlaylistEntry.objects.bulk_create(PlaylistEntry(slot=slot, video_id=pk, position=position)
                                          for position, pk in enumerate(video_ids))
        change_record(kind="playlist.scheduled", obj=slot, to=[scope("park", park.pk)], facts={"park": park.pk})
    return slot


def slot_remove(*, actor, slot_id: int) -> None:
    """Take a slot off the schedule.  Who may call: the park's operator.  Raises ``PermissionDenied``,
    ``ValidationError`` (``not_found``)."""
    slot = PlaylistSlot.objects.select_related("park").filter(pk=slot_id).first()
    if slot is None:
        raise ValidationError({"slotId": ValidationError(_("Slot not found."), code="not_found")})
    if staff_of(actor, slot.park) is None:
        raise PermissionDenied(_("Only the park's operator may schedule its lamp posts."))
    with transaction.atomic():
        change_record(kind="playlist.removed", obj=slot, to=[scope("park", slot.park_id)],
                      facts={"park": slot.park_id})
        slot.delete()


@dataclass(frozen=True)
class Playlist:
    slot: PlaylistSlot | None
    videos: list[PromoVideo]
    #: Changes whenever what the post should play changes (another slot, videos, their order, a video replaced).
    version: str
    #: When to ask again at the latest: the end of the slot, or the start of one that takes over.
    valid_until: datetime


def playlist_now(*, posts: list[LampPost], now: datetime | None = None) -> dict[int, Playlist]:
    """What each of ``posts`` (of one park or several) plays at ``now``; three queries whatever their number."""
    now = timezone.localtime(now or timezone.now())
    today, clock = now.date(), now.time()
    slots = list(PlaylistSlot.objects.filter(park_id__in={post.park_id for post in posts})
                 .prefetch_related("posts").order_by("starts", "id"))
    entries: dict[int, list[PromoVideo]] = {}
    for entry in (PlaylistEntry.objects.filter(slot__in=slots, video__status=VideoStatus.APPROVED)
                  .select_related("video").order_by("slot_id", "position")):
        entries.setdefault(entry.slot_id, []).append(entry.video)
    midnight = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))
    found = {}
    for post in posts:
        mine = [slot for slot in slots if slot.park_id == post.park_id and now.isoweekday() in slot.days
                and (not slot.posts.all() or any(p.pk == post.pk for p in slot.posts.all()))]
        current = [slot for slot in mine if slot.starts <= clock < slot.ends]
        slot = max(current, key=lambda s: (s.starts, s.pk)) if current else None
        later = [timezone.make_aware(datetime.combine(today, s.starts)) for s in mine if s.starts > clock]
        ends = [timezone.make_aware(datetime.combine(today, slot.ends))] if slot else []
        videos = entries.get(slot.pk, []) if slot else []
        digest = hashlib.sha256(repr((slot.pk if slot else None,
                                      [(v.pk, v.sha256) for v in videos])).encode()).hexdigest()[:20]
        found[post.pk] = Playlist(slot=slot, videos=videos, version=digest, valid_until=min([*later, *ends, midnight]))
    return found


@dataclass(frozen=True)
class PlaysTaken:
    taken: int
    refused: list[tuple[int, str]]


def plays_report(*, post: LampPost, plays: list) -> PlaysTaken:
    """Store what ``post`` says it played (``[{"video": id, "startedAt": ISO time, "seconds": n}]``): each play once,
    however often it is sent.  A play of a video of no such park (``unknown_video``), at an impossible time
    (``bad_time``) or of an impossible length (``bad_seconds``), or malformed (``malformed``), is refused with its
    index and reason; the others are kept.  Raises ``ValidationError`` (``too_many``) past ``REPORT_MAX_PLAYS``."""
    if len(plays) > REPORT_MAX_PLAYS:
        raise ValidationError(_("At most %(limit)d plays in one report.") % {"limit": REPORT_MAX_PLAYS},
                              code="too_many")
    now = timezone.now()
    known = set(PromoVideo.objects.filter(park_id=post.park_id).values_list("pk", flat=True))
    rows, refused = [], []
    for index, play in enumerate(plays):
        if not isinstance(play, dict):
            refused.append((index, "malformed"))
            continue
        video, seconds = play.get("video"), play.get("seconds")
        try:
            started = parse_datetime(play["startedAt"]) if isinstance(play.get("startedAt"), str) else None
        except ValueError:  # well formed, but no such moment (30 February)
            started = None
        if (not isinstance(video, int) or isinstance(video, bool) or not isinstance(seconds, int | float)
                or isinstance(seconds, bool) or started is None):
            refused.append((index, "malformed"))
        elif video not in known:
            refused.append((index, "unknown_video"))
        elif timezone.is_naive(started) or not now - PLAY_MAX_AGE <= started <= now + PLAY_MAX_AHEAD:
            refused.append((index, "bad_time"))
        elif not 0 < seconds <= PLAY_MAX_SECONDS:
            refused.append((index, "bad_seconds"))
        else:
            rows.append(PlayReport(post=post, video_id=video, started_at=started, seconds=float(seconds)))
    before = PlayReport.objects.filter(post=post).count()
    PlayReport.objects.bulk_create(rows, ignore_conflicts=True)
    return PlaysTaken(taken=PlayReport.objects.filter(post=post).count() - before, refused=refused)
