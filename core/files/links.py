"""Signed links that expire, for any registered kind's files, and what one view needs to serve them.

A link is ``/<kind's link path>/<token>``, the token signing ``<object id>.<variant>.<expiry>`` with the
kind's salt, so a link made for one kind is no link for another.  Whoever hands out a link has checked that
its viewer may see the object: ``file_link_issue`` checks it itself; ``file_link_sign`` is for an object the
caller read through the kind's visibility rule for that viewer (an API type whose queryset the rule narrowed).
A link then works for whoever holds it until it expires, like the picture it points to in the viewer's
cache: it is valid until the end of the window after the current one, windows being half the kind's time to
live, so the same object gets the same link for a while and phones can cache it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.signing import BadSignature, Signer
from django.utils.translation import gettext as _

from core.files.ingest import CONTENT_TYPES
from core.files.kinds import FileKind, file_kind

_MEDIA_TYPES = ("image/", "video/")


class FileLinkRefused(Exception):
    """A link that serves nothing: ``status`` 404 (``not_found``: forged, altered, or its file is gone) or 410
    (``link_expired``); ``message`` is translated."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class ServedFile:
    file: IO[bytes]  # opened through the storage API; the response closes it
    content_type: str
    filename: str
    attachment: bool
    max_age: int  # seconds a client may keep it


def file_link_sign(*, kind: str, pk, variant: str | None = None) -> str:
    """A link to ``variant`` (default: the kind's first) of the file on object ``pk``, without a check: only for
    an object the caller read through the kind's visibility rule for the viewer it hands the link to.
    Raises ``LookupError`` for an unknown kind or variant."""
    spec = file_kind(kind)
    variant = variant or spec.default_variant
    if variant not in spec.variants:
        raise LookupError(f"file kind {kind} has no variant {variant!r}")
    window = _window(spec)
    expires = (int(_now()) // window + 2) * window
    return f"/{spec.link_path}/{Signer(salt=spec.salt).sign(f'{pk}.{variant}.{expires}')}"


def file_link_issue(*, user, kind: str, pk, variant: str | None = None) -> str | None:
    """A link for ``user`` to a file of object ``pk``, or None when the kind's rule hides the object from them
    or it has no such file (one query).  Any caller may call it."""
    pk = file_kind(kind).model_class._meta.pk.to_python(pk)
    return file_links_issue(user=user, kind=kind, pks=[pk], variant=variant).get(pk)


def file_links_issue(*, user, kind: str, pks: Iterable, variant: str | None = None) -> dict:
    """Links for ``user`` to the files of the objects ``pks`` that they may see and that have one, by object id
    (one query, however many).  Any caller may call it."""
    spec = file_kind(kind)
    field = spec.variants[variant or spec.default_variant]
    rows = spec.visible(user, spec.model_class._default_manager.filter(pk__in=list(pks))).values_list("pk", field)
    return {pk: file_link_sign(kind=kind, pk=pk, variant=variant) for pk, name in rows if name}


def file_link_open(*, kind: str, token: str) -> ServedFile:
    """The file a link points to, opened through the kind's storage, with how to serve it.

    Checks the signature (with the kind's salt), then the expiry, then that the object and its file still
    exist.  Raises ``FileLinkRefused``: 404 ``not_found`` for an unknown kind, a forged or altered token, a
    deleted object or file; 410 ``link_expired``.  Reads one row.
    """
    try:
        spec = file_kind(kind)
    except LookupError:
        raise FileLinkRefused(404, "not_found", _("No such file.")) from None
    not_found = FileLinkRefused(404, "not_found", str(spec.not_found_message))
    try:
        pk, variant, expires = Signer(salt=spec.salt).unsign(token).rsplit(".", 2)
        expires = int(expires)
        field = spec.variants[variant]
    except (BadSignature, ValueError, KeyError):
        raise not_found from None
    if expires < _now():
        raise FileLinkRefused(410, "link_expired", str(spec.expired_message))
    name = spec.model_class._default_manager.filter(pk=pk).values_list(field, flat=True).first()
    storage = spec.storage_backend
    if not name or not storage.exists(name):
        raise not_found
    content_type = CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), "application/octet-stream")
    attachment = spec.attachment if spec.attachment is not None else not content_type.startswith(_MEDIA_TYPES)
    return ServedFile(file=storage.open(name, "rb"), content_type=content_type, filename=os.path.basename(name),
                      attachment=attachment, max_age=_window(spec))


def _window(spec: FileKind) -> int:
    return max(1, getattr(settings, spec.ttl_setting, 3600) // 2)


def _now() -> float:
    return time.time()
