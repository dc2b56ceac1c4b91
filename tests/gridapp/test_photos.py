"""Photo ingestion (gridapp.incidents.photos): every image is made here with Pillow; no database, no files on disk."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import time
import warnings
import zlib
from datetime import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

from gridapp.incidents.photos import THUMBNAIL_SIDE, distance_m, photo_ingest

QINGDAO = {1: "N", 2: (36.0, 4.0, 0.12), 3: "E", 4: (120.0, 22.0, 57.36)}  # 36.0667 N, 120.3826 E
# Rio de Janeiro, as a phone writes it: rationals with a denominator of 100 for the seconds.
RIO = {1: "S", 2: (IFDRational(22), IFDRational(54), IFDRational(3000, 100)),
       3: "W", 4: (IFDRational(43), IFDRational(11), IFDRational(4700, 100))}  # 22.908333 S, 43.196389 W


def encode(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def two_tone(size: tuple[int, int] = (200, 100)) -> Image.Image:
    """Red left half, blue right half: shows which way an image was turned."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image


def phone_jpeg(gps: dict | None = None, taken: str | None = "2024:05:01 08:30:00", orientation: int = 6) -> bytes:
    """A 200x100 JPEG with the EXIF a phone writes: orientation, GPS position, capture time."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "OnePhone"
    if gps is not None:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(gps)
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    return encode(two_tone(), exif=exif)


def png_header(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes that declares width x height RGB pixels (and holds almost none of them)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def refused(code: str, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        photo_ingest(**kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def assert_no_metadata(jpeg: bytes) -> None:
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert "exif" not in image.info and b"Exif\0\0" not in jpeg and b"OnePhone" not in jpeg


def near(rgb: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, expected, strict=True))


# --- what a phone photo becomes -----------------------------------------------------------------------------------


def test_phone_photo_is_turned_upright_stripped_and_its_metadata_read():
    original = phone_jpeg(QINGDAO)
    photo = photo_ingest(upload=original)

    assert photo.gps == pytest.approx((120.3826, 36.0667), abs=1e-6)
    assert photo.taken_at == datetime(2024, 5, 1, 8, 30, 0)
    assert photo.sha256 == hashlib.sha256(original).hexdigest()
    assert (photo.original_format, photo.original_bytes) == ("JPEG", len(original))

    display = Image.open(io.BytesIO(photo.display))
    assert (photo.width, photo.height) == display.size == (100, 200)  # orientation 6: turned a quarter clockwise
    assert near(display.getpixel((50, 20)), (255, 0, 0)) and near(display.getpixel((50, 180)), (0, 0, 255))
    assert_no_metadata(photo.display)
    assert_no_metadata(photo.thumbnail)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (100, 200)  # never enlarged


def test_southern_and_western_coordinates_are_negative():
    assert photo_ingest(upload=phone_jpeg(RIO)).gps == pytest.approx((-43.196389, -22.908333), abs=1e-6)


def test_a_photo_without_exif_has_no_position_or_time():
    photo = photo_ingest(upload=encode(two_tone()))
    assert (photo.gps, photo.taken_at, photo.width, photo.height) == (None, None, 200, 100)


@pytest.mark.parametrize("gps", [
    pytest.param({**QINGDAO, 2: (999.0, 0.0, 0.0)}, id="latitude-999"),
    pytest.param({**QINGDAO, 4: (181.0, 0.0, 0.0)}, id="longitude-181"),
    pytest.param({**QINGDAO, 2: (36.0, 75.0, 0.0)}, id="75-minutes"),
    pytest.param({**QINGDAO, 2: (IFDRational(36, 0), IFDRational(4), IFDRational(0))}, id="zero-denominator"),
    pytest.param({**QINGDAO, 1: "X"}, id="bad-reference"),
    pytest.param({2: QINGDAO[2], 4: QINGDAO[4]}, id="no-references"),
    pytest.param({1: "N", 3: "E"}, id="no-values"),
    pytest.param({1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)}, id="zero-zero-no-fix"),
])
def test_implausible_gps_is_ignored_not_refused(gps):
    photo = photo_ingest(upload=phone_jpeg(gps))
    assert photo.gps is None
    assert photo.taken_at == datetime(2024, 5, 1, 8, 30, 0)


@pytest.mark.parametrize("taken", ["0000:00:00 00:00:00", "2024-05-01T08:30:00", "yesterday", "2024:13:01 08:30:00"])
def test_malformed_capture_time_is_ignored(taken):
    photo = photo_ingest(upload=phone_jpeg(QINGDAO, taken=taken))
    assert photo.taken_at is None and photo.gps is not None


# --- sizes, formats and colours -----------------------------------------------------------------------------------


def test_big_photo_is_scaled_to_the_default_longest_side_and_thumbnailed():
    photo = photo_ingest(upload=encode(two_tone((3000, 1500))))
    assert (photo.width, photo.height) == (2048, 1024)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (THUMBNAIL_SIDE, THUMBNAIL_SIDE // 2)


def test_longest_side_follows_the_setting(settings):
    settings.PHOTO_MAX_SIDE = 500
    photo = photo_ingest(upload=encode(two_tone((1000, 1600))))
    assert (photo.width, photo.height) == (312, 500)
    assert max(Image.open(io.BytesIO(photo.thumbnail)).size) == THUMBNAIL_SIDE


def test_transparent_png_becomes_an_rgb_jpeg_on_white():
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))  # transparent black: a plain convert would show black
    image.paste((255, 0, 0, 255), (20, 0, 40, 20))
    photo = photo_ingest(upload=encode(image, "PNG"))
    display = Image.open(io.BytesIO(photo.display))
    assert display.mode == "RGB" and photo.original_format == "PNG"
    assert near(display.getpixel((5, 10)), (255, 255, 255)) and near(display.getpixel((35, 10)), (255, 0, 0))


def test_palette_png_with_a_transparent_colour_becomes_white():
    image = Image.new("P", (20, 20), 0)
    image.putpalette([0, 0, 0, 0, 255, 0])
    image.paste(1, (10, 0, 20, 20))
    display = Image.open(io.BytesIO(photo_ingest(upload=encode(image, "PNG", transparency=0)).display))
    assert near(display.getpixel((2, 10)), (255, 255, 255)) and near(display.getpixel((17, 10)), (0, 255, 0))


def test_sixteen_bit_grey_png_keeps_its_tone():
    photo = photo_ingest(upload=encode(Image.new("I;16", (20, 20), 32768), "PNG"))
    assert near(Image.open(io.BytesIO(photo.display)).getpixel((10, 10)), (128, 128, 128), tolerance=3)


def test_webp_and_mpo_are_accepted():
    assert photo_ingest(upload=encode(two_tone(), "WEBP")).original_format == "WEBP"
    mpo = encode(two_tone(), "MPO", save_all=True, append_images=[two_tone()])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    assert photo_ingest(upload=mpo).original_format == "JPEG"


def test_rgb_colour_profile_is_kept_and_a_cmyk_one_dropped():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = photo_ingest(upload=encode(two_tone(), icc_profile=srgb))
    assert Image.open(io.BytesIO(photo.display)).info["icc_profile"] == srgb
    cmyk = encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), icc_profile=b"\0" * 16 + b"CMYK" + b"\0" * 108)
    display = Image.open(io.BytesIO(photo_ingest(upload=cmyk).display))
    assert "icc_profile" not in display.info and near(display.getpixel((10, 10)), (255, 0, 0), tolerance=20)


def test_django_upload_is_read_from_the_start():
    original = phone_jpeg(QINGDAO)
    upload = SimpleUploadedFile("photo.jpg", original, content_type="image/jpeg")
    upload.read(10)  # e.g. a form's validation peeked at it
    photo = photo_ingest(upload=upload)
    assert photo.sha256 == hashlib.sha256(original).hexdigest() and photo.original_bytes == len(original)


# --- refusals -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    pytest.param(b"just some text, named photo.jpg\n" * 20, id="text"),
    pytest.param(b"", id="empty"),
    pytest.param(bytes(range(256)) * 8, id="garbage"),
    pytest.param(png_header(20, 20)[:-20], id="png-cut-short"),
])
def test_non_images_are_refused(data):
    from django.utils import translation

    with translation.override("en"):
        error = refused("not_an_image", upload=data)
    assert "not an image" in error.message % (error.params or {})


def test_truncated_jpeg_is_refused():
    original = encode(Image.effect_noise((400, 300), 60).convert("RGB"))
    Image.open(io.BytesIO(original)).load()  # the whole one decodes
    refused("not_an_image", upload=original[: len(original) // 2])


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_refused(fmt):
    error = refused("unsupported_format", upload=encode(two_tone(), fmt))
    assert error.params == {"format": fmt}


@pytest.mark.parametrize("width,height", [
    pytest.param(30_000, 30_000, id="900-megapixels"),  # past Pillow's own limit: it raises in Image.open
    pytest.param(8_000, 6_000, id="48-megapixels"),  # below Pillow's limit: our header check
])
def test_decompression_bomb_is_refused_from_its_header(width, height):
    data = png_header(width, height)
    assert len(data) < 100
    started = time.perf_counter()
    error = refused("image_too_large", upload=data)  # not not_an_image: it never got to decoding the stub
    assert time.perf_counter() - started < 1
    assert error.params == {"limit": "40"}


def test_pillow_bomb_warning_is_a_refusal_and_stays_local():
    filters = list(warnings.filters)
    # 100 megapixels: above Pillow's warning threshold (~89M), below its error threshold and our own limit.
    refused("image_too_large", upload=png_header(10_000, 10_000), max_pixels=500_000_000)
    assert warnings.filters == filters


def test_pixel_limit_follows_the_argument_and_the_setting(settings):
    refused("image_too_large", upload=encode(two_tone()), max_pixels=100 * 100)
    settings.PHOTO_MAX_PIXELS = 100 * 100
    refused("image_too_large", upload=encode(two_tone()))


def test_file_over_the_byte_limit_is_refused():
    photo = encode(Image.effect_noise((100, 100), 60).convert("RGB"))
    assert len(photo) > 5000
    refused("file_too_large", upload=photo, max_bytes=1000)
    refused("file_too_large", upload=io.BytesIO(photo), max_bytes=1000)
    refused("file_too_large", upload=SimpleUploadedFile("photo.jpg", photo), max_bytes=1000)
    assert photo_ingest(upload=photo, max_bytes=len(photo)).original_bytes == len(photo)


def test_file_limit_follows_the_setting(settings):
    settings.PHOTO_MAX_BYTES = 1000
    error = refused("file_too_large", upload=encode(Image.effect_noise((100, 100), 60).convert("RGB")))
    assert error.params["limit"].startswith("1000")


class EndlessStream:
    """A 100 MB (or endless) upload that counts how many bytes were asked of it."""

    def __init__(self, size: int = 100 * 1024 * 1024):
        self.left, self.requested = size, 0

    def read(self, n: int = -1) -> bytes:
        assert n is not None and n >= 0, "an unbounded read() would pull the whole upload into memory"
        self.requested += n
        chunk = min(n, self.left)
        self.left -= chunk
        return b"\0" * chunk


@pytest.mark.parametrize("max_bytes", [1000, None])
def test_huge_stream_is_never_read_past_the_limit(max_bytes):
    stream = EndlessStream()
    refused("file_too_large", upload=stream, max_bytes=max_bytes)
    assert stream.requested == (max_bytes or 10 * 1024 * 1024) + 1


# --- distance -----------------------------------------------------------------------------------------------------


def ellipsoid_distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Short distances on the WGS-84 ellipsoid itself, from its radii of curvature at the mean latitude."""
    a, f = 6_378_137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    phi = math.radians((lat1 + lat2) / 2)
    w = math.sqrt(1 - e2 * math.sin(phi) ** 2)
    meridian, prime_vertical = a * (1 - e2) / w**3, a / w
    north = meridian * math.radians(lat2 - lat1)
    east = prime_vertical * math.cos(phi) * math.radians(lng2 - lng1)
    return math.hypot(north, east)


def test_distance_between_two_qingdao_landmarks():
    zhanqiao_pier, may_fourth_square = (120.3187, 36.0596), (120.3847, 36.0624)
    distance = distance_m(*zhanqiao_pier, *may_fourth_square)
    assert 5_800 < distance < 6_100  # the pier to the square is about 6 km along the bay
    assert distance == pytest.approx(ellipsoid_distance_m(*zhanqiao_pier, *may_fourth_square), rel=0.01)
    assert distance == pytest.approx(distance_m(*may_fourth_square, *zhanqiao_pier))


def test_distance_edge_cases():
    assert distance_m(120.38, 36.06, 120.38, 36.06) == 0
    assert distance_m(120.38, 36.06, 120.38, 37.06) == pytest.approx(ellipsoid_distance_m(120.38, 36.06, 120.38, 37.06),
                                                                     rel=0.01)
    assert distance_m(0, 0, 180, 0) == pytest.approx(math.pi * 6_371_008.8)  # antipodes: no domain error
