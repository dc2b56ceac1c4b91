"""Files as a platform service: ingest under limits, storage through Django's storage API, signed links.

* ``kinds``: the registry an app fills in its ``AppConfig.ready`` (``file_kind_register``);
* ``ingest``: ``file_ingest`` checks an upload against its kind (``images``: decoded and re-encoded without
  metadata; ``documents``: PDFs parsed by pypdf; ``videos``: MP4 and WebM containers walked), ``file_store``
  writes it to ``settings.STORAGES``;
* ``links``: ``file_link_issue`` hands out a signed expiring link to a file the viewer may see,
  ``file_link_open`` checks one and opens its file for the one view that serves them all (``api.media``).
"""

from core.files.ingest import CONTENT_TYPES, IngestedFile, file_discard, file_ingest, file_store
from core.files.kinds import (
    FileKind,
    Images,
    Pdfs,
    Videos,
    file_kind,
    file_kind_register,
    file_kind_unregister,
    file_kinds,
)
from core.files.links import (
    FileLinkRefused,
    ServedFile,
    file_link_issue,
    file_link_open,
    file_link_sign,
    file_links_issue,
)

__all__ = [
    "CONTENT_TYPES", "FileKind", "FileLinkRefused", "Images", "IngestedFile", "Pdfs", "ServedFile", "Videos",
    "file_discard", "file_ingest", "file_kind", "file_kind_register", "file_kind_unregister", "file_kinds",
    "file_link_issue", "file_link_open", "file_link_sign", "file_links_issue", "file_store",
]
