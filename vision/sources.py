"""Taking a camera's picture of a moment: an HTTP(S) snapshot URL (basic or digest auth), an RTSP stream
through OpenCV, or, for simulation, an image file, a folder of images or a video file.

A replayed folder or video is indexed by the moment, not by a counter: the same moment always gives the same
picture (a video plays in real time, looping; a folder shows one image per interval), so a redelivered
snapshot task sees what the first attempt saw.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from vision.models import Camera, HttpAuth, SourceKind

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


class SnapshotError(Exception):
    """The camera gave no usable picture; ``reason`` says why, in the reader's language."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def snapshot_fetch(camera: Camera, at: datetime) -> np.ndarray:
    """The picture of ``camera`` for moment ``at``, decoded to BGR pixels (``vision.frames``).  Raises
    ``SnapshotError``."""
    kind = camera.source_kind
    if kind == SourceKind.HTTP:
        return image_decode(_http(camera))
    if kind == SourceKind.RTSP:
        return _stream_frame(camera.source, at, live=True)
    path = _local(camera.source)
    if kind == SourceKind.FILE:
        return image_decode(_read(path))
    if kind == SourceKind.FOLDER:
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if path.is_dir() else []
        if not images:
            raise SnapshotError(_("The folder %(path)s has no images.") % {"path": camera.source})
        slot = int(at.timestamp()) // max(1, camera.interval_seconds)
        return image_decode(_read(images[slot % len(images)]))
    if kind == SourceKind.VIDEO:
        return _stream_frame(str(path), at, live=False)
    raise SnapshotError(_("Unknown source kind %(kind)s.") % {"kind": kind})


def image_decode(data: bytes) -> np.ndarray:
    """Decode a snapshot to BGR pixels, refusing garbage and pictures too large to be a camera's.  Raises
    ``SnapshotError``.

    PIL reads the header (format and size, without decoding) so a decompression bomb is refused before any
    pixel is; OpenCV decodes, straight to the BGR array the detectors take (PIL's RGB image would cost a
    conversion and a copy as large again).
    """
    garbage = SnapshotError(_("The camera sent something that is not a picture."))
    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height, encoding = *header.size, header.format
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise garbage from None
    if encoding == "JPEG" and not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        raise garbage  # cut short (OpenCV would fill the rest with grey and say nothing)
    if width * height > settings.PHOTO_MAX_PIXELS:
        raise SnapshotError(_("The picture is too large (%(w)d x %(h)d).") % {"w": width, "h": height})
    import cv2

    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if pixels is None or pixels.shape[:2] != (height, width):
        raise garbage
    return pixels


def _local(source: str) -> Path:
    path = Path(source)
    return path if path.is_absolute() else Path(settings.VISION_DEMO_MEDIA_DIR) / path


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(settings.VISION_SNAPSHOT_MAX_BYTES + 1)
    except OSError:
        raise SnapshotError(_("The file %(path)s cannot be read.") % {"path": path.name}) from None
    if len(data) > settings.VISION_SNAPSHOT_MAX_BYTES:
        raise SnapshotError(_("The picture is larger than %(mb)d MB.") % {
            "mb": settings.VISION_SNAPSHOT_MAX_BYTES // (1024 * 1024)})
    return data


def _http(camera: Camera) -> bytes:
    auth = None
    if camera.auth == HttpAuth.BASIC:
        auth = httpx.BasicAuth(camera.username, camera.password)
    elif camera.auth == HttpAuth.DIGEST:
        auth = httpx.DigestAuth(camera.username, camera.password)
    limit = settings.VISION_SNAPSHOT_MAX_BYTES
    try:
        with httpx.stream("GET", camera.source, auth=auth, timeout=settings.VISION_FETCH_TIMEOUT_SECONDS,
                          follow_redirects=True) as response:
            if response.status_code != 200:
                raise SnapshotError(_("The camera answered HTTP %(status)d.") % {"status": response.status_code})
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > limit:
                    raise SnapshotError(_("The picture is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)})
            return bytes(body)
    except httpx.TimeoutException:
        raise SnapshotError(_("The camera did not answer in time.")) from None
    except httpx.HTTPError as error:
        raise SnapshotError(_("The camera cannot be reached: %(error)s") % {"error": type(error).__name__}) from None


def _stream_frame(address: str, at: datetime, *, live: bool) -> np.ndarray:
    import cv2

    capture = cv2.VideoCapture(address)
    try:
        if not capture.isOpened():
            raise SnapshotError(_("The stream %(address)s cannot be opened.") % {"address": Path(address).name})
        if not live:
            frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
            if frames <= 0:
                raise SnapshotError(_("The video has no frames."))
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(at.timestamp() * fps) % frames)
        ok, frame = capture.read()
        if not ok or frame is None:
            raise SnapshotError(_("The stream gave no frame."))
        return frame
    finally:
        capture.release()
