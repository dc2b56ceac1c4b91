"""Files as a platform service (core.files): what an upload must be to be taken, judged by its content.

Every file here is made by a real producer (Pillow, matplotlib, pypdf, OpenCV's FFmpeg) or is one of those
cut, garbled or renamed; no database, the storage is Django's in-memory one.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import time
import zlib
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import ExifTags, Image
from pypdf import PdfWriter

from core.files import (
    FileKind,
    Images,
    Pdfs,
    Videos,
    file_ingest,
    file_kind_register,
    file_kind_unregister,
    file_store,
)

# A real PDF from another producer than the ones the tests drive: matplotlib ships it.
SHIPPED_PDF = Path(matplotlib.get_data_path()) / "images" / "matplotlib.pdf"


@pytest.fixture(autouse=True)
def kinds(settings):
    """Three kinds an app could register: materials (PDF or image), scans (PDF only), lamp-post videos."""
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    registered = [
        FileKind(name="t_material", model="vision.Situation", variants={"f": "evidence"},
                 accepts=(Pdfs(max_pages=5), Images(max_bytes=200_000, max_pixels=4_000_000))),
        FileKind(name="t_scan", model="vision.Situation", variants={"f": "evidence"}, accepts=(Pdfs(),)),
        FileKind(name="t_video", model="vision.Situation", variants={"f": "evidence"},
                 accepts=(Videos(max_bytes=2_000_000),), folder="lamp-posts/videos"),
    ]
    for kind in registered:
        file_kind_register(kind)
    yield
    for kind in registered:
        file_kind_unregister(kind.name)


def refused(code: str, *, kind: str, upload) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        file_ingest(kind=kind, upload=upload)
    assert caught.value.code == code, caught.value
    return caught.value


# --- what real producers write --------------------------------------------------------------------------------


def phone_jpeg(size=(400, 300)) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "OnePhone"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (36.0, 4.0, 0.12), 3: "E", 4: (120.0, 22.0, 57.36)})
    buffer = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes declaring width x height pixels: a decompression bomb's header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def pillow_pdf(pages: int = 1) -> bytes:
    images = [Image.new("RGB", (300, 200), (40 * page, 90, 160)) for page in range(pages)]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def matplotlib_pdf() -> bytes:
    from matplotlib.figure import Figure

    figure = Figure()
    figure.text(0.1, 0.5, "Business licence No. 913702", fontsize=20)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="pdf")
    return buffer.getvalue()


def encrypted_pdf(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(pillow_pdf()))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def video(path: Path, fourcc: str, frames: int = 12) -> bytes:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (64, 48))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc}"
    for frame in range(frames):
        writer.write(np.full((48, 64, 3), frame * 20, np.uint8))
    writer.release()
    data = path.read_bytes()
    capture = cv2.VideoCapture(str(path))  # what we accept must really be a video: it decodes
    assert capture.read()[0]
    capture.release()
    return data


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> bytes:
    return video(tmp_path_factory.mktemp("video") / "clip.mp4", "mp4v")


@pytest.fixture(scope="module")
def webm(tmp_path_factory) -> bytes:
    return video(tmp_path_factory.mktemp("video") / "clip.webm", "VP80")


# --- images: re-encoded, stripped, under limits -----------------------------------------------------------------


def test_an_image_is_re_encoded_without_its_metadata_and_stored_with_a_thumbnail():
    original = phone_jpeg()
    ingested = file_ingest(kind="t_material", upload=SimpleUploadedFile("scan.pdf", original))  # the name lies
    assert (ingested.content_type, ingested.size) == ("image/jpeg", len(original))
    assert ingested.sha256 == hashlib.sha256(original).hexdigest()
    assert ingested.details.gps == pytest.approx((120.3826, 36.0667), abs=1e-6)  # read before it is dropped
    for part in ingested.parts.values():
        assert b"OnePhone" not in part.content and b"Exif\0\0" not in part.content
        assert dict(Image.open(io.BytesIO(part.content)).getexif()) == {}
    names = file_store(ingested=ingested)
    assert re.fullmatch(r"t_material/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", names["file"])
    assert names["thumbnail"] == names["file"].replace(".jpg", "-thumb.jpg")
    from django.core.files.storage import default_storage

    assert default_storage.open(names["file"]).read() == ingested.parts["file"].content


@pytest.mark.parametrize("data", [
    pytest.param(b"not an image at all\n" * 30, id="text"),
    pytest.param(bytes(range(256)) * 8, id="garbage"),
    pytest.param(phone_jpeg()[:3000], id="truncated-jpeg"),
])
def test_a_malformed_image_is_refused(data):
    with translation.override("en"):
        error = refused("not_an_image", kind="t_material", upload=data)
    assert "not an image" in str(error.message)


def test_a_huge_image_is_refused_from_its_size_without_being_read():
    class Huge(io.BytesIO):
        size = 50_000_000  # what Django knows of an upload before reading it
        read_bytes = 0

        def read(self, *args):
            data = super().read(*args)
            self.read_bytes += len(data)
            return data

    huge = Huge(b"\xff\xd8\xff" + b"\0" * 100_000)
    refused("file_too_large", kind="t_material", upload=huge)
    assert huge.read_bytes <= 64  # its signature, to know which limit applies
    refused("file_too_large", kind="t_material", upload=b"\xff\xd8\xff" + b"\0" * 200_001)


@pytest.mark.parametrize("width,height", [(30_000, 30_000), (2_100, 2_000)], ids=["pillow-bomb", "over-the-kind"])
def test_a_pixel_bomb_is_refused_from_its_header(width, height):
    started = time.perf_counter()
    refused("image_too_large", kind="t_material", upload=png_header(width, height))
    assert time.perf_counter() - started < 1


# --- PDF documents: what they claim to be -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [pillow_pdf, matplotlib_pdf, SHIPPED_PDF.read_bytes],
                         ids=["pillow", "matplotlib", "shipped"])
def test_a_real_pdf_is_accepted_and_kept_as_uploaded(make):
    data = make()
    ingested = file_ingest(kind="t_scan", upload=SimpleUploadedFile("licence.pdf", data))
    assert (ingested.content_type, ingested.details.pages, ingested.details.encrypted) == ("application/pdf", 1, False)
    assert ingested.sha256 == hashlib.sha256(data).hexdigest()
    name = file_store(ingested=ingested)["file"]
    assert name.endswith(".pdf") and name.startswith("t_scan/")
    from django.core.files.storage import default_storage

    assert default_storage.open(name).read() == data


def test_an_image_renamed_pdf_is_refused_as_a_pdf():
    upload = SimpleUploadedFile("licence.pdf", phone_jpeg(), content_type="application/pdf")
    with translation.override("en"):
        error = refused("not_a_pdf", kind="t_scan", upload=upload)
    assert str(error.message) == "The file is not a PDF document."
    # A kind that takes images as well takes it for what it is: an image, re-encoded.
    assert file_ingest(kind="t_material", upload=upload).content_type == "image/jpeg"


@pytest.mark.parametrize("damage", [
    pytest.param(lambda pdf: pdf[: len(pdf) // 2], id="cut-in-half"),
    pytest.param(lambda pdf: pdf[:-40], id="cut-before-the-trailer"),
    pytest.param(lambda pdf: pdf[:300] + bytes(range(256)) * 4 + pdf[1324:], id="garbled-objects"),
    pytest.param(lambda pdf: b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n", id="header-and-noise"),
    pytest.param(lambda pdf: b"%PDF-1.4\n%%EOF\n", id="header-only"),
])
def test_a_truncated_or_garbled_pdf_is_refused(damage):
    pdf = matplotlib_pdf()
    refused("pdf_damaged", kind="t_scan", upload=damage(pdf))


def test_a_pdf_that_needs_a_password_is_refused_and_one_with_an_owner_password_only_accepted():
    with translation.override("en"):
        error = refused("pdf_encrypted", kind="t_scan", upload=encrypted_pdf("applicant-secret"))
    assert "password" in str(error.message)
    opens_without_one = file_ingest(kind="t_scan", upload=encrypted_pdf(""))
    assert opens_without_one.details.encrypted and opens_without_one.details.pages == 1


def test_pdf_limits_pages_and_bytes(settings):
    assert file_ingest(kind="t_material", upload=pillow_pdf(5)).details.pages == 5
    error = refused("pdf_too_many_pages", kind="t_material", upload=pillow_pdf(6))
    assert error.params == {"pages": 6, "limit": 5}
    settings.FILE_PDF_MAX_BYTES = 1000  # the kind without a limit of its own follows the setting
    refused("file_too_large", kind="t_scan", upload=matplotlib_pdf())


def test_a_pdf_past_pypdfs_bounds_is_refused_not_decompressed():
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter(clone_from=io.BytesIO(pillow_pdf()))
    bomb = DecodedStreamObject()
    bomb.set_data(b"0 0 m " * 20_000_000)  # 120 MB of drawing, a few hundred kB deflated
    writer.pages[0][NameObject("/Contents")] = writer._add_object(bomb.flate_encode())
    buffer = io.BytesIO()
    writer.write(buffer)
    assert len(buffer.getvalue()) < 1_000_000
    refused("pdf_too_complex", kind="t_scan", upload=buffer.getvalue())


# --- videos: the container's signature and structure ---------------------------------------------------------


def test_real_mp4_and_webm_videos_are_accepted_and_stored_as_uploaded(mp4, webm):
    from django.core.files.storage import default_storage

    for data, container in ((mp4, "mp4"), (webm, "webm")):
        ingested = file_ingest(kind="t_video", upload=SimpleUploadedFile(f"ad.{container}", data))
        assert (ingested.details.container, ingested.content_type) == (container, f"video/{container}")
        assert ingested.sha256 == hashlib.sha256(data).hexdigest() and ingested.size == len(data)
        name = file_store(ingested=ingested)["file"]
        assert name.startswith("lamp-posts/videos/") and name.endswith(f".{container}")
        assert default_storage.open(name).read() == data


@pytest.mark.parametrize("container", ["mp4", "webm"])
@pytest.mark.parametrize("cut", [0.5, 0.98])
def test_a_truncated_video_is_refused(container, cut, mp4, webm):
    data = {"mp4": mp4, "webm": webm}[container]
    refused("video_damaged", kind="t_video", upload=data[: int(len(data) * cut)])


def test_what_only_looks_like_a_video_is_refused(mp4):
    refused("not_a_video", kind="t_video", upload=SimpleUploadedFile("ad.mp4", phone_jpeg()))
    # An MP4 signature with nothing after it: no index, no media.
    refused("video_damaged", kind="t_video", upload=mp4[:28] + struct.pack(">I4s", 8, b"free"))
    # Boxes that do not tile the file: garbage after the last one.
    refused("video_damaged", kind="t_video", upload=mp4 + b"\x00\x00\x01\x00junk")
    # QuickTime, not MP4: a container we recognise, a format we do not take.
    assert mp4[:8] == b"\x00\x00\x00\x1cftyp"  # a 28-byte ftyp: swapped for QuickTime's of the same size
    quicktime = struct.pack(">I4s4sI", 28, b"ftyp", b"qt  ", 0x200) + b"qt  " * 3 + mp4[28:]
    refused("not_a_video", kind="t_video", upload=quicktime)


def test_a_matroska_file_that_is_not_webm_is_refused(webm):
    assert b"\x42\x82\x84webm" in webm
    refused("not_a_video", kind="t_video", upload=webm.replace(b"\x42\x82\x84webm", b"\x42\x82\x84mkv\0", 1))


def test_a_video_over_the_limit_is_refused_without_being_read(mp4):
    class Huge(io.BytesIO):
        def seekable(self):
            return True

    big = Huge(mp4 + b"\0" * 2_000_000)
    refused("file_too_large", kind="t_video", upload=big)
    assert big.tell() == 0  # its size came from seeking to the end, not from reading it


def test_a_kind_refuses_types_it_does_not_take(mp4):
    with translation.override("en"):
        error = refused("unsupported_type", kind="t_scan", upload=mp4)
        assert str(error.message) == "This file is not accepted here; please upload PDF documents."
        error = refused("unsupported_type", kind="t_video", upload=pillow_pdf())
        assert str(error.message) == "This file is not accepted here; please upload videos (MP4, WebM)."
    # A kind that takes images judges everything else as an image, as event photos always have.
    refused("not_an_image", kind="t_material", upload=mp4)
    # What is no known type gets the reason of the kind's one check.
    refused("not_a_pdf", kind="t_scan", upload=b"GIF89a" + b"\0" * 100)
    refused("not_a_video", kind="t_video", upload=b"GIF89a" + b"\0" * 100)


# --- storage ------------------------------------------------------------------------------------------------------


def test_a_failed_store_leaves_no_part_behind(monkeypatch):
    from django.core.files.storage import storages

    storage = storages["default"]
    ingested = file_ingest(kind="t_material", upload=phone_jpeg())
    saved = []
    original_save = storage.save

    def save_then_fail(name, content, **kwargs):
        if saved:
            raise OSError("disk full")
        saved.append(original_save(name, content, **kwargs))
        return saved[-1]

    monkeypatch.setattr(storage, "save", save_then_fail)
    with pytest.raises(OSError):
        file_store(ingested=ingested)
    assert saved and not storage.exists(saved[0])


def test_kind_registration_is_checked():
    kind = FileKind(name="t_other", model="vision.Situation", variants={"f": "evidence"}, accepts=(Pdfs(),))
    file_kind_register(kind)
    file_kind_register(kind)  # again: a no-op
    try:
        with pytest.raises(ValueError):
            file_kind_register(FileKind(name="t_other", model="vision.Situation", variants={"f": "evidence"},
                                        accepts=(Images(),)))
    finally:
        file_kind_unregister("t_other")
    for bad in ({"name": "Bad Name"}, {"variants": {}}, {"accepts": ()}, {"accepts": (Pdfs(), Pdfs())}):
        with pytest.raises(ValueError):
            FileKind(**{"name": "t_bad", "model": "vision.Situation", "variants": {"f": "evidence"},
                        "accepts": (Pdfs(),), **bad})
