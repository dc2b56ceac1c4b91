"""The registry of file kinds: what an app stores, what it accepts, where, and who may see it.

``core`` knows no domain app.  An app registers each kind of file it keeps in its ``AppConfig.ready``::

    file_kind_register(FileKind(
        name="application_material", model="approvals.Material", variants={"f": "file", "t": "thumbnail"},
        accepts=(Pdfs(max_pages=50), Images()), visibility=materials_visible_to, folder="materials"))

and then ingests uploads with ``file_ingest(kind=...)``, stores them with ``file_store`` and hands out links
with ``file_link_issue``; one view serves every kind.  ``visibility(user, queryset)`` narrows a queryset of the
model to the rows the user may see; left out, the model's own rule applies (``core.restriction``: what its app
registered, the rule the API applies to the object too).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.files.storage import Storage, storages
from django.db.models import Model, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.files.images import THUMBNAIL_SIDE
from core.files.videos import CONTAINERS
from core.restriction import visible

#: Narrows a queryset of the kind's model to what a (signed-in, active) user may see.
Visibility = Callable[[Any, QuerySet], QuerySet]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_VARIANT = re.compile(r"[a-z0-9]{1,8}")


@dataclass(frozen=True)
class Images:
    """Images are decoded and re-encoded as JPEG without metadata, with a thumbnail; None reads the
    ``PHOTO_MAX_BYTES``, ``PHOTO_MAX_PIXELS`` and ``PHOTO_MAX_SIDE`` settings when a file is ingested."""

    max_bytes: int | None = None
    max_pixels: int | None = None
    max_side: int | None = None
    thumbnail_side: int = THUMBNAIL_SIDE


@dataclass(frozen=True)
class Pdfs:
    """PDF documents, stored as uploaded once checked; None reads ``FILE_PDF_MAX_BYTES``/``FILE_PDF_MAX_PAGES``."""

    max_bytes: int | None = None
    max_pages: int | None = None


@dataclass(frozen=True)
class Videos:
    """MP4 and WebM videos, stored as uploaded once their container is checked; None reads
    ``FILE_VIDEO_MAX_BYTES``."""

    max_bytes: int | None = None
    containers: tuple[str, ...] = CONTAINERS


Accepted = Images | Pdfs | Videos


@dataclass(frozen=True)
class FileKind:
    """One kind of file an app keeps on one model.

    ``variants`` maps a link's variant key to the model field holding that file's storage name (a CharField
    or a FileField); the first is the default.  ``folder`` (default: the name) prefixes stored names in the
    ``storage`` alias of ``settings.STORAGES``.  Links live under ``/files/<name>/`` unless ``link_path`` says
    otherwise, are signed with ``salt`` (default ``onegrid.files.<name>``) and stay valid for at least half of
    the seconds in the setting ``ttl_setting``.  Files are served inline when they are images or videos and as
    downloads otherwise, unless ``attachment`` says.  ``link_path`` and ``salt`` exist so that a kind's links
    handed out before it was registered here keep working.
    """

    name: str
    model: str  # "app_label.ModelName"
    variants: Mapping[str, str]
    accepts: tuple[Accepted, ...]
    visibility: Visibility | None = None
    folder: str = ""
    storage: str = "default"
    link_path: str = ""
    salt: str = ""
    ttl_setting: str = "FILE_URL_TTL_SECONDS"
    attachment: bool | None = None
    not_found_message: str | Promise = field(default=_("No such file."))
    expired_message: str | Promise = field(default=_("This file link has expired."))

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"file kind name {self.name!r}: lower-case letters, digits and _ only")
        if not self.variants or not all(_VARIANT.fullmatch(key) for key in self.variants):
            raise ValueError(f"file kind {self.name}: variants need short lower-case keys")
        types = [type(accepted) for accepted in self.accepts]
        if not types or len(set(types)) != len(types) or not all(t in (Images, Pdfs, Videos) for t in types):
            raise ValueError(f"file kind {self.name}: accepts one each of Images, Pdfs, Videos")
        object.__setattr__(self, "variants", dict(self.variants))
        object.__setattr__(self, "folder", (self.folder or self.name).strip("/"))
        object.__setattr__(self, "link_path", (self.link_path or f"files/{self.name}").strip("/"))
        object.__setattr__(self, "salt", self.salt or f"onegrid.files.{self.name}")

    @property
    def model_class(self) -> type[Model]:
        return apps.get_model(self.model)

    @property
    def storage_backend(self) -> Storage:
        return storages[self.storage]

    @property
    def default_variant(self) -> str:
        return next(iter(self.variants))

    def policy(self, accepted: type[Accepted]) -> Accepted | None:
        return next((policy for policy in self.accepts if isinstance(policy, accepted)), None)

    def visible(self, user, queryset: QuerySet | None = None) -> QuerySet:
        """``queryset`` (default: all rows of the model) narrowed to what ``user`` may see; nothing for no user,
        an anonymous or an inactive one.  Raises ``LookupError`` when neither the kind nor its model has a rule
        (a bug, never an answer)."""
        queryset = self.model_class._default_manager.all() if queryset is None else queryset
        if self.visibility is None:
            return visible(queryset.model, user, queryset)
        if user is None or not user.is_authenticated or not user.is_active:
            return queryset.none()
        return self.visibility(user, queryset)


_kinds: dict[str, FileKind] = {}


def file_kind_register(kind: FileKind) -> FileKind:
    """Register ``kind``; call from an ``AppConfig.ready``.  Registering the same kind again is a no-op;
    another kind under a taken name raises ``ValueError``."""
    if _kinds.get(kind.name, kind) != kind:
        raise ValueError(f"file kind {kind.name!r} is already registered differently")
    _kinds[kind.name] = kind
    return kind


def file_kind_unregister(name: str) -> None:
    """Forget a kind (tests register kinds of their own)."""
    _kinds.pop(name, None)


def file_kind(name: str) -> FileKind:
    """The kind registered as ``name``; ``LookupError`` for none."""
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"no file kind {name!r}") from None


def file_kinds() -> list[FileKind]:
    return list(_kinds.values())
