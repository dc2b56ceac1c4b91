"""Ingest an upload as a registered kind of file, and store it through Django's storage API.

Nothing here names a filesystem path: files go to ``storages[kind.storage]`` (``settings.STORAGES``), which is
a folder in the embedded mode and may be an object store in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.files.documents import IngestedPdf, pdf_ingest
from core.files.images import IngestedImage, image_ingest
from core.files.kinds import Images, Pdfs, Videos, file_kind
from core.files.reading import Upload
from core.files.videos import IngestedVideo, video_container, video_ingest

#: What we serve each stored extension as.  Stored names are ours (``file_store`` picks the extension from
#: what the checks found), so the type served is the type checked, never the uploader's claim.
CONTENT_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".pdf": "application/pdf",
                 ".mp4": "video/mp4", ".webm": "video/webm"}
_TYPE_NAMES = {Images: gettext_lazy("images (JPEG, PNG, WebP)"), Pdfs: gettext_lazy("PDF documents"),
               Videos: gettext_lazy("videos (MP4, WebM)")}


@dataclass(frozen=True)
class Part:
    content: bytes | IO[bytes]
    extension: str  # one of CONTENT_TYPES


@dataclass(frozen=True)
class IngestedFile:
    """A checked upload, ready to store: ``parts`` are "file" and, for an image, "thumbnail"."""

    kind: str
    content_type: str  # of the "file" part
    sha256: str  # of the bytes as uploaded
    size: int  # bytes as uploaded
    parts: Mapping[str, Part]
    details: IngestedImage | IngestedPdf | IngestedVideo


def file_ingest(*, kind: str, upload: Upload) -> IngestedFile:
    """Check ``upload`` (a file-like object such as an ``UploadedFile``, or bytes) against what the registered
    ``kind`` accepts and its limits, and make what is stored of it.

    The type is judged from the content, never from the name or the declared content type: a PDF signature
    goes to the PDF checks, an MP4 or WebM signature to the video checks, anything else to the image checks
    when the kind takes images.  Any caller may call it; it reads no database.  Raises ``LookupError`` for an
    unknown kind and ``ValidationError`` with a code: ``unsupported_type`` (a type the kind does not take) or
    those of ``image_ingest``, ``pdf_ingest`` and ``video_ingest``.
    """
    spec = file_kind(kind)
    head = _head(upload)
    sniffed = Pdfs if head.startswith(b"%PDF-") else Videos if video_container(head) else Images
    policy = spec.policy(sniffed) or spec.policy(Images)
    if policy is None:
        if len(spec.accepts) != 1 or sniffed is not Images:
            accepted = [str(_TYPE_NAMES[type(other)]) for other in spec.accepts]
            raise ValidationError(_("This file is not accepted here; please upload %(accepted)s.")
                                  % {"accepted": get_text_list(accepted, _("or"))}, code="unsupported_type")
        policy = spec.accepts[0]  # its own check says what the file is not
    if isinstance(policy, Images):
        image = image_ingest(upload=upload, max_bytes=policy.max_bytes, max_pixels=policy.max_pixels,
                             max_side=policy.max_side, thumbnail_side=policy.thumbnail_side)
        return IngestedFile(kind=kind, content_type="image/jpeg", sha256=image.sha256, size=image.original_bytes,
                            parts={"file": Part(image.display, ".jpg"), "thumbnail": Part(image.thumbnail, ".jpg")},
                            details=image)
    if isinstance(policy, Pdfs):
        pdf = pdf_ingest(upload=upload, max_bytes=policy.max_bytes, max_pages=policy.max_pages)
        return IngestedFile(kind=kind, content_type="application/pdf", sha256=pdf.sha256, size=len(pdf.data),
                            parts={"file": Part(pdf.data, ".pdf")}, details=pdf)
    video = video_ingest(upload=upload, max_bytes=policy.max_bytes, containers=policy.containers)
    extension = f".{video.container}"
    return IngestedFile(kind=kind, content_type=CONTENT_TYPES[extension], sha256=video.sha256, size=video.size,
                        parts={"file": Part(video.stream, extension)}, details=video)


def file_store(*, ingested: IngestedFile) -> dict[str, str]:
    """Write every part of ``ingested`` to its kind's storage under a new unguessable name; returns the storage
    name of each part ("file", "thumbnail"), for the caller's model fields.

    Call before the rows that name the files are written, and ``file_discard`` the names if that write fails:
    storage is not transactional.  Writes nothing when one part fails (what was written is deleted) and
    raises the storage's error.
    """
    spec = file_kind(ingested.kind)
    storage = spec.storage_backend
    stem = f"{spec.folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"
    names: dict[str, str] = {}
    try:
        for part_name, part in ingested.parts.items():
            suffix = "" if part_name == "file" else f"-{part_name[:5]}"  # "-thumb", as event photos always had
            content = ContentFile(part.content) if isinstance(part.content, bytes) else File(part.content)
            names[part_name] = storage.save(f"{stem}{suffix}{part.extension}", content)
    except BaseException:
        file_discard(kind=ingested.kind, names=names.values())
        raise
    return names


def file_discard(*, kind: str, names: Iterable[str]) -> None:
    """Delete stored files of ``kind`` (those of a write that did not happen)."""
    storage = file_kind(kind).storage_backend
    for name in names:
        storage.delete(name)


def _head(upload: Upload, length: int = 64) -> bytes:
    """The first bytes of an upload, its read position kept."""
    if isinstance(upload, (bytes, bytearray, memoryview)):
        return bytes(upload[:length])
    if not getattr(upload, "seekable", lambda: False)():
        return b""  # a stream read once goes to the image check (or the kind's only check) as it is
    position = upload.tell()
    try:
        upload.seek(0)
        return upload.read(length)
    finally:
        upload.seek(position)

