"""Check that an uploaded video is an MP4 or WebM file whose container holds together, under a size limit.

What is checked, reading only headers (a video is never held in memory whole):

* MP4 (ISO base media file): the first box is ``ftyp`` with an MP4 brand (``isom``, ``iso2``..``iso9``,
  ``mp41``, ``mp42``, ``avc1``, ``M4V ``, ``dash``...) as its major or a compatible brand; the top-level boxes
  tile the file exactly (a file cut short or padded with garbage does not); their types are printable; a
  ``moov`` (the index a player needs) and an ``mdat`` (the media) are there.
* WebM (Matroska): the EBML header with DocType ``webm``; a Segment whose declared size fits the file; inside
  it the top-level elements tile the Segment, with ``Tracks`` and at least one ``Cluster`` (a live recording's
  Segment or Cluster of unknown size is accepted from where its size is unknown).

What is not checked: the codecs, that any frame decodes, the duration, the resolution, the audio.  QuickTime
(``.mov``, brand ``qt  ``), 3GP and audio-only MP4 (``M4A ``) are refused.  A player on a lamp post may still
fail on a codec it lacks; an operator approves each video before it is played.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.files.reading import READ_CHUNK, Upload, open_capped

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
CONTAINERS = ("mp4", "webm")
MP4_BRANDS = frozenset({b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
                        b"mp41", b"mp42", b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"msdh", b"msix",
                        b"cmfc", b"cmf2"})
# Work is bounded by the number of elements walked, not by the file's size: a file of millions of empty boxes
# is refused rather than walked.
MAX_ELEMENTS = 100_000
_EBML = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE = 0x4282
_SEGMENT = 0x18538067
_TRACKS = 0x1654AE6B
_CLUSTER = 0x1F43B675


@dataclass(frozen=True)
class IngestedVideo:
    stream: IO[bytes]  # the upload as it came, at position 0
    size: int
    sha256: str
    container: str  # "mp4" or "webm"


class _Damaged(Exception):
    pass


class _Foreign(Exception):
    """A container we recognise, holding a format we do not take (QuickTime, 3GP, audio, Matroska)."""


def video_container(head: bytes) -> str | None:
    """"mp4" or "webm" from a file's first bytes (its signature only), or None."""
    if head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(_EBML):
        return "webm"
    return None


def video_ingest(*, upload: Upload, max_bytes: int | None = None,
                 containers: tuple[str, ...] = CONTAINERS) -> IngestedVideo:
    """Check that ``upload`` (a file-like object or bytes) is an MP4 or WebM video within the limit.

    Raises ``ValidationError`` with code ``file_too_large`` (more than ``max_bytes``, default
    ``settings.FILE_VIDEO_MAX_BYTES``), ``not_a_video`` (no MP4 or WebM signature, a container this kind does
    not take, an ``ftyp`` with no MP4 brand, a Matroska DocType other than webm) or ``video_damaged`` (the
    container's structure does not hold: cut short, garbled, no index or no media).  The upload is read twice
    (the structure, then a digest), never held in memory whole.
    """
    if max_bytes is None:
        max_bytes = getattr(settings, "FILE_VIDEO_MAX_BYTES", DEFAULT_MAX_BYTES)
    stream, size = open_capped(upload, max_bytes=max_bytes,
                               message=_("The video is too large; the limit is %(limit)s."))
    container = video_container(stream.read(64))
    not_a_video = ValidationError(_("The file is not a video we accept; please upload an MP4 or WebM video."),
                                  code="not_a_video")
    if container is None or container not in containers:
        raise not_a_video
    try:
        (_mp4_check if container == "mp4" else _webm_check)(stream, size)
    except _Foreign as exc:
        raise not_a_video from exc
    except (_Damaged, struct.error) as exc:
        raise ValidationError(_("The video is damaged or incomplete."), code="video_damaged") from exc
    stream.seek(0)
    digest = hashlib.sha256()
    while chunk := stream.read(READ_CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return IngestedVideo(stream=stream, size=size, sha256=digest.hexdigest(), container=container)


def _read_at(stream: IO[bytes], offset: int, length: int) -> bytes:
    stream.seek(offset)
    data = stream.read(length)
    if len(data) != length:
        raise _Damaged("cut short")
    return data


def _mp4_check(stream: IO[bytes], size: int) -> None:
    """The top-level boxes of an ISO base media file tile it, start with an MP4 ``ftyp``, hold moov and mdat."""
    position, seen = 0, set()
    for count in range(MAX_ELEMENTS):
        if position == size:
            break
        box_size, box_type = struct.unpack(">I4s", _read_at(stream, position, 8))
        header = 8
        if box_size == 1:  # a 64-bit size follows the type
            (box_size,) = struct.unpack(">Q", _read_at(stream, position + 8, 8))
            header = 16
        elif box_size == 0:  # the last box runs to the end of the file
            box_size = size - position
        if box_size < header or position + box_size > size:
            raise _Damaged(f"box {box_type!r} at {position} overruns the file")
        if not all(0x20 <= byte <= 0x7E or byte == 0xA9 for byte in box_type):
            raise _Damaged(f"box type {box_type!r} at {position}")
        if count == 0:
            if box_type != b"ftyp" or box_size < 16:
                raise _Damaged("the first box is not ftyp")
            brands = _read_at(stream, position + header, box_size - header)
            # major brand, minor version, then compatible brands
            names = {brands[0:4]} | {brands[index:index + 4] for index in range(8, len(brands) - 3, 4)}
            if not names & MP4_BRANDS:
                raise _Foreign(f"brands {sorted(names)} are not MP4")
        seen.add(box_type)
        position += box_size
    else:
        raise _Damaged("too many boxes")
    if not {b"moov", b"mdat"} <= seen:
        raise _Damaged("no moov or no mdat")


def _vint(stream: IO[bytes], offset: int, *, marker: bool) -> tuple[int, int, bool]:
    """An EBML variable-length integer at ``offset``: (value, its length, whether it is all ones).

    IDs keep their length marker (``marker=True``), sizes drop it; an all-ones size means "unknown".
    """
    first = _read_at(stream, offset, 1)[0]
    if first == 0:
        raise _Damaged(f"invalid EBML number at {offset}")
    length = 9 - first.bit_length()
    raw = first.to_bytes(1, "big") + (_read_at(stream, offset + 1, length - 1) if length > 1 else b"")
    value = int.from_bytes(raw, "big")
    if not marker:
        value &= (1 << (7 * length)) - 1
    return value, length, value == (1 << (7 * length)) - 1 and not marker


def _element(stream: IO[bytes], offset: int) -> tuple[int, int, int | None]:
    """(ID, where its data starts, its data size or None when unknown) of the EBML element at ``offset``."""
    element_id, id_length, _unknown = _vint(stream, offset, marker=True)
    data_size, size_length, unknown = _vint(stream, offset + id_length, marker=False)
    return element_id, offset + id_length + size_length, None if unknown else data_size


def _webm_check(stream: IO[bytes], size: int) -> None:
    """An EBML header with DocType webm, then a Segment that fits the file and holds Tracks and a Cluster."""
    _header, start, length = _element(stream, 0)
    if length is None or start + length > size:
        raise _Damaged("EBML header")
    doctype, position = None, start
    while position < start + length:
        child, child_start, child_length = _element(stream, position)
        if child_length is None or child_start + child_length > start + length:
            raise _Damaged("EBML header child")
        if child == _EBML_DOCTYPE:
            doctype = _read_at(stream, child_start, min(child_length, 16)).rstrip(b"\0")
        position = child_start + child_length
    if doctype != b"webm":
        raise _Foreign(f"DocType {doctype!r}")
    segment, segment_start, segment_length = _element(stream, position)
    if segment != _SEGMENT:
        raise _Damaged("no Segment after the EBML header")
    end = size if segment_length is None else segment_start + segment_length
    if end > size:
        raise _Damaged("the Segment is cut short")
    seen, position = set(), segment_start
    for _count in range(MAX_ELEMENTS):
        if position >= end:
            break
        child, child_start, child_length = _element(stream, position)
        seen.add(child)
        if child_length is None:
            break  # a live recording: the element runs to the end of the Segment
        if child_start + child_length > end:
            raise _Damaged(f"element {child:#x} at {position} overruns the Segment")
        position = child_start + child_length
    else:
        raise _Damaged("too many elements")
    if not {_TRACKS, _CLUSTER} <= seen:
        raise _Damaged("no Tracks or no Cluster")
