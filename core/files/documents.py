"""Check that an uploaded PDF is one: its signature, its structure as pypdf reads it, its pages, its limits.

What is checked: the ``%PDF-x.y`` header at the first byte; an ``%%EOF`` marker in the last kilobyte (an upload
cut short has none); the cross-reference table and trailer, the page tree and every page's box, parsed by pypdf
in strict mode (with its own bounds on decompression and nesting); every page's content stream decoded; the
page count (at least one, at most the kind's limit); encryption.  Strict mode refuses a document whose
cross-reference table is broken even where a lenient viewer would repair it: pypdf's repairs accept garbled
objects too, and the applicant can save the document again to fix it.  A compressed stream that fails to
inflate is still partly recovered by pypdf rather than refused.  A document protected only by an owner
password (it opens without a password, as many issued by authorities are) is accepted and reported as
``encrypted``; one that needs a password to open is refused, because no reviewer could read it.

What is not checked: that the pages draw without errors (images and fonts are not decoded), what the text says,
embedded files, JavaScript or forms (the file is served as a download, never rendered in our pages).  The
bytes are stored as uploaded, so their digest is what the applicant submitted.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.files.reading import Upload, read_capped

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PAGES = 500
_HEADER = re.compile(rb"%PDF-([12]\.\d)")
_EOF_WINDOW = 1024


@dataclass(frozen=True)
class IngestedPdf:
    data: bytes  # as uploaded
    sha256: str
    pages: int
    version: str  # from the header: "1.4", "1.7", "2.0"
    encrypted: bool  # protected by an owner password only: it opens without one


def pdf_ingest(*, upload: Upload, max_bytes: int | None = None, max_pages: int | None = None) -> IngestedPdf:
    """Check that ``upload`` (a file-like object or bytes) is a readable PDF document within the limits.

    Raises ``ValidationError`` with code ``file_too_large`` (more than ``max_bytes``, default
    ``settings.FILE_PDF_MAX_BYTES``; at most ``max_bytes + 1`` bytes read), ``not_a_pdf`` (no PDF header: an
    image or anything else renamed), ``pdf_damaged`` (truncated, or its structure or a page cannot be read),
    ``pdf_encrypted`` (a password is needed to open it), ``pdf_too_complex`` (past pypdf's bounds on
    decompression or nesting) or ``pdf_too_many_pages`` (more than ``max_pages``, default
    ``settings.FILE_PDF_MAX_PAGES``, or no page at all counts as damaged).
    """
    # pypdf is slow to import (`.venv/bin/python -X importtime -c "import pypdf"`): only a process that checks a
    # PDF pays it.
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, LimitReachedError

    if max_bytes is None:
        max_bytes = getattr(settings, "FILE_PDF_MAX_BYTES", DEFAULT_MAX_BYTES)
    if max_pages is None:
        max_pages = getattr(settings, "FILE_PDF_MAX_PAGES", DEFAULT_MAX_PAGES)
    data = read_capped(upload, max_bytes=max_bytes, message=_("The document is too large; the limit is %(limit)s."))
    header = _HEADER.match(data)
    if header is None:
        raise ValidationError(_("The file is not a PDF document."), code="not_a_pdf")
    damaged = ValidationError(_("The PDF document is damaged or incomplete."), code="pdf_damaged")
    if b"%%EOF" not in data[-_EOF_WINDOW:]:
        raise damaged
    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        encrypted = reader.is_encrypted
        if encrypted and not reader.decrypt(""):
            raise ValidationError(_("The PDF document is protected by a password; please upload it without one."),
                                  code="pdf_encrypted")
        pages = len(reader.pages)
        if pages > max_pages:
            raise ValidationError(_("The PDF document has %(pages)d pages; the limit is %(limit)d."),
                                  code="pdf_too_many_pages", params={"pages": pages, "limit": max_pages})
        for page in reader.pages:
            if min(page.mediabox.width, page.mediabox.height) <= 0:
                raise damaged
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()
    except ValidationError:
        raise
    except DependencyError as exc:  # an encryption this installation cannot open is one we cannot check
        raise ValidationError(_("The PDF document is protected by a password; please upload it without one."),
                              code="pdf_encrypted") from exc
    except LimitReachedError as exc:
        raise ValidationError(_("The PDF document is too complex to check."), code="pdf_too_complex") from exc
    except Exception as exc:  # noqa: BLE001 -- a parser of untrusted bytes raises anything: PdfReadError, KeyError...
        raise damaged from exc
    if pages == 0:
        raise damaged
    return IngestedPdf(data=data, sha256=hashlib.sha256(data).hexdigest(), pages=pages,
                       version=header.group(1).decode(), encrypted=encrypted)
