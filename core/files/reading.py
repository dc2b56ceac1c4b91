"""Reading an untrusted upload under a byte limit, never more than the limit plus one byte.

An upload is a file-like object (Django's ``UploadedFile``: in memory below ``FILE_UPLOAD_MAX_MEMORY_SIZE``, a
temporary file above it) or bytes.  Its declared size is believed only to refuse early; what is read is
counted.
"""

from __future__ import annotations

import io
import tempfile
from typing import IO

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

READ_CHUNK = 1024 * 1024
_SPOOL_IN_MEMORY = 2 * 1024 * 1024

Upload = IO[bytes] | bytes | bytearray | memoryview


def too_large(max_bytes: int, message: str | None = None) -> ValidationError:
    """The ``file_too_large`` refusal; ``message`` (translated, with ``%(limit)s``) names what is too large."""
    return ValidationError(message or _("The file is too large; the limit is %(limit)s."), code="file_too_large",
                           params={"limit": filesizeformat(max_bytes)})


def read_capped(upload: Upload, *, max_bytes: int, message: str | None = None) -> bytes:
    """The upload's bytes, or ``file_too_large`` after reading at most ``max_bytes + 1`` of them."""
    if isinstance(upload, (bytes, bytearray, memoryview)):
        data = bytes(upload[: max_bytes + 1])
    else:
        size = getattr(upload, "size", None)  # Django knows an upload's size without reading it
        if isinstance(size, int) and size > max_bytes:
            raise too_large(max_bytes, message)
        if getattr(upload, "seekable", lambda: False)():
            upload.seek(0)  # a form's validation may already have read it
        chunks, remaining = [], max_bytes + 1
        while remaining > 0:
            chunk = upload.read(min(remaining, READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    if len(data) > max_bytes:
        raise too_large(max_bytes, message)
    return data


def open_capped(upload: Upload, *, max_bytes: int, message: str | None = None) -> tuple[IO[bytes], int]:
    """A seekable stream over the upload at position 0 and its size in bytes, without holding a large upload in
    memory; ``file_too_large`` when it holds more than ``max_bytes`` (at most ``max_bytes + 1`` read to know).

    A seekable upload (Django's) is used as it is; anything else is copied to a spooled temporary file.
    """
    if isinstance(upload, (bytes, bytearray, memoryview)):
        if len(upload) > max_bytes:
            raise too_large(max_bytes, message)
        return io.BytesIO(bytes(upload)), len(upload)
    if getattr(upload, "seekable", lambda: False)():
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
        upload.seek(0)
        if size > max_bytes:
            raise too_large(max_bytes, message)
        return upload, size
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)
    size = 0
    while chunk := upload.read(READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            spool.close()
            raise too_large(max_bytes, message)
        spool.write(chunk)
    spool.seek(0)
    return spool, size
