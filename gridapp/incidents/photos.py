"""Turn an uploaded photo into the JPEGs OneGrid stores and shows.

Photos come straight from residents' and grid workers' phones, so they are untrusted input: anything can be
uploaded under a ``.jpg`` name, a few kilobytes can declare gigapixels, and every phone photo carries EXIF
metadata (GPS position, capture time, camera serial) that must not be republished with the picture.  So every
photo is decoded once, under limits, and re-encoded as a plain JPEG with no metadata; the two facts we do want
from the EXIF (where and when it was taken, to check a report against its event) are read before it is dropped.

Pure functions over bytes and Pillow images (no models, no database): callable from a view, a GraphQL
mutation or a Celery task alike, and cheap to test.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageOps

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 2048
THUMBNAIL_SIDE = 320
JPEG_QUALITY = 85
# Accepted formats, and what we report them as: phones write multi-picture JPEGs (MPO) for portrait and
# depth shots, whose first frame is an ordinary JPEG.
ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius: the sphere that best fits the ellipsoid overall
_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class IngestedPhoto:
    """What we store for one uploaded photo; ``width``/``height`` are those of ``display``."""

    display: bytes  # JPEG, upright, longest side <= PHOTO_MAX_SIDE, no EXIF
    thumbnail: bytes  # JPEG, upright, longest side <= THUMBNAIL_SIDE, no EXIF
    width: int
    height: int
    sha256: str  # hex digest of the bytes as uploaded, to spot the same photo uploaded twice
    original_format: str  # "JPEG", "PNG" or "WEBP"
    original_bytes: int
    gps: tuple[float, float] | None  # (lng, lat) WGS-84, from EXIF GPS
    taken_at: datetime | None  # EXIF DateTimeOriginal: the camera's local clock, so naive


def photo_ingest(*, upload: IO[bytes] | bytes, max_bytes: int | None = None,
                 max_pixels: int | None = None) -> IngestedPhoto:
    """Check, decode and re-encode an uploaded photo (a file-like object such as an ``UploadedFile``, or bytes).

    Returns the display JPEG (orientation applied, longest side at most ``settings.PHOTO_MAX_SIDE``, quality 85)
    and a thumbnail, both without EXIF, plus the GPS position and capture time read from the original's EXIF
    (``None`` when absent or implausible; bad metadata never rejects a photo).  Transparent areas become white.

    Raises ``ValidationError`` with code ``file_too_large`` (more than ``max_bytes``, default
    ``settings.PHOTO_MAX_BYTES`` or 10 MiB; at most ``max_bytes + 1`` bytes are ever read), ``not_an_image``
    (not decodable, or truncated), ``unsupported_format`` (anything but JPEG/MPO, PNG and WebP) or
    ``image_too_large`` (more than ``max_pixels``, default ``settings.PHOTO_MAX_PIXELS`` or 40 million, judged
    from the header before any pixel is decoded).
    """
    if max_bytes is None:
        max_bytes = getattr(settings, "PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)
    if max_pixels is None:
        max_pixels = getattr(settings, "PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS)
    max_side = getattr(settings, "PHOTO_MAX_SIDE", DEFAULT_MAX_SIDE)

    data = _read_capped(upload, max_bytes)
    image, original_format = _decode(data, max_pixels)
    exif = _exif(image)
    icc = image.info.get("icc_profile")
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not cost us the photo; show it as stored
        pass
    display = _to_rgb(image)
    display.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    thumbnail = display.copy()
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    # Keep an RGB colour profile (iPhones shoot Display P3; without it colours look washed out); a CMYK or
    # grey profile would be wrong for the RGB pixels we write.
    icc = icc if isinstance(icc, bytes) and icc[16:20] == b"RGB " else None
    return IngestedPhoto(
        display=_jpeg(display, icc), thumbnail=_jpeg(thumbnail, icc), width=display.width, height=display.height,
        sha256=hashlib.sha256(data).hexdigest(), original_format=original_format, original_bytes=len(data),
        gps=_gps(exif), taken_at=_taken_at(exif),
    )


def photo_pixels(upload: IO[bytes] | bytes) -> int | None:
    """How many pixels an upload declares, from its header alone (nothing decoded, the read position kept).

    None for a file Pillow does not recognise (``photo_ingest`` refuses it with its reason); a header past
    twice Pillow's own limit counts as more pixels than any budget.  Lets a request's photos be weighed together
    before any of them costs a decode.
    """
    stream = io.BytesIO(upload) if isinstance(upload, (bytes, bytearray)) else upload
    position = stream.tell()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                return image.width * image.height
    except Image.DecompressionBombError:
        return 2**62
    except Exception:  # noqa: BLE001 -- untrusted bytes: anything Pillow cannot read is "not an image" later
        return None
    finally:
        stream.seek(position)


def distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS-84 points; within ~0.5% of the ellipsoid."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _read_capped(upload: IO[bytes] | bytes, max_bytes: int) -> bytes:
    """The upload's bytes, or ``file_too_large`` after reading at most ``max_bytes + 1`` of them."""
    too_large = ValidationError(_("The photo is too large; the limit is %(limit)s."), code="file_too_large",
                                params={"limit": filesizeformat(max_bytes)})
    if isinstance(upload, (bytes, bytearray, memoryview)):
        data = bytes(upload[: max_bytes + 1])
    else:
        size = getattr(upload, "size", None)  # Django knows an upload's size without reading it
        if isinstance(size, int) and size > max_bytes:
            raise too_large
        if getattr(upload, "seekable", lambda: False)():
            upload.seek(0)  # a form's validation may already have read it
        chunks, remaining = [], max_bytes + 1
        while remaining > 0:
            chunk = upload.read(min(remaining, _READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    if len(data) > max_bytes:
        raise too_large
    return data


def _decode(data: bytes, max_pixels: int) -> tuple[Image.Image, str]:
    """The fully decoded image and its reported format, or the ``ValidationError`` that refuses it."""
    too_many_pixels = ValidationError(_("The image has too many pixels; the limit is %(limit)s megapixels."),
                                      code="image_too_large", params={"limit": f"{max_pixels / 1e6:g}"})
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; refuse those too, without touching its globals.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # lazy: reads the header only
            original_format = ACCEPTED_FORMATS.get(image.format or "")
            if original_format is None:
                raise ValidationError(
                    _("%(format)s images are not accepted; please upload a JPEG, PNG or WebP photo."),
                    code="unsupported_format", params={"format": image.format})
            if image.width * image.height > max_pixels:
                raise too_many_pixels
            # Decoding every pixel is what catches a truncated or corrupt file: Image.open and verify() only
            # look at the structure, and for JPEG verify() checks nothing at all.
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_many_pixels from exc
    except Exception as exc:  # decoders of untrusted bytes raise OSError, SyntaxError, ValueError, struct.error...
        raise ValidationError(_("The file is not an image, or it is damaged."), code="not_an_image") from exc
    return image, original_format


def _to_rgb(image: Image.Image) -> Image.Image:
    """JPEG has no alpha: composite transparent images onto white (black is what a plain convert gives)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        image = image.point(lambda value: value / 256)  # 16-bit grey: a plain convert clips it to white
    return image if image.mode == "RGB" else image.convert("RGB")


def _jpeg(image: Image.Image, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    # Pillow writes EXIF (and XMP) only when passed to save(), so leaving them out strips all metadata.
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, icc_profile=icc)
    return out.getvalue()


def _exif(image: Image.Image) -> Image.Exif:
    try:
        return image.getexif()
    except Exception:  # malformed EXIF means no metadata, not a refused photo
        return Image.Exif()


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    """(lng, lat) from the GPS IFD; None when absent, out of range, or 0,0 (what phones write with no fix)."""
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90)
        lng = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180)
    except Exception:  # garbage in the GPS IFD means no position
        return None
    if lat is None or lng is None or (lat == 0 and lng == 0):
        return None
    return (lng, lat)


def _degrees(value: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    """Signed decimal degrees from EXIF (degrees, minutes, seconds) rationals and an N/S or E/W reference."""
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    ref = str(ref or "").strip("\0 ").upper()
    if value is None or ref not in (positive, negative):
        return None  # without its reference the sign is a guess
    parts = [float(part) for part in (value if isinstance(value, (tuple, list)) else (value,))]
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(part) and part >= 0 for part in parts):
        return None  # a zero denominator reads as NaN
    if any(part >= 60 for part in parts[1:]):
        return None
    degrees = sum(part / 60**index for index, part in enumerate(parts))
    if degrees > limit:
        return None
    return -degrees if ref == negative else degrees


def _taken_at(exif: Image.Exif) -> datetime | None:
    """EXIF DateTimeOriginal ("YYYY:MM:DD HH:MM:SS"); None when absent or malformed (e.g. all zeros)."""
    try:
        value = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal)
        if isinstance(value, bytes):
            value = value.decode("ascii")
        if not isinstance(value, str):
            return None
        return datetime.strptime(value.strip("\0 "), "%Y:%m:%d %H:%M:%S")
    except Exception:  # garbage in the Exif IFD means no capture time
        return None
