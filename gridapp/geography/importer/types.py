"""The importer's shared vocabulary: batches, rejects, reports, and the check for text that cannot be stored."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

#: Rows per batch the readers yield (and the size the loader is tuned for).
BATCH_SIZE = 100_000

# Lone surrogates are bytes that were not UTF-8 (decoded with errors="surrogateescape")
# or broken JSON escapes; NUL cannot be stored in a PostgreSQL text column.
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class ImportFileError(ValueError):
    """A file that cannot be imported at all (not a FeatureCollection, no header, a missing column)."""


@dataclass
class Reject:
    file: str
    line: int
    reason: str


@dataclass
class ImportReport:
    created: int
    updated: int
    unchanged: int
    rejected: list[Reject]
    seconds_loading: float  # time spent writing to the database only


@dataclass
class RecordBatch:
    """Rows of base records, column by column; ``lines`` are what rejects report (1-based).

    ``line_label`` names what ``lines`` count: ``"line"`` for text files; any
    other label (``"feature"``) is also written into each reject's reason
    ("feature 12: ...").
    """

    external_ids: list[str]
    kinds: list[str]
    names: list[str]
    addresses: list[str]
    lngs: np.ndarray
    lats: np.ndarray
    crs: list[str]
    lines: list[int]
    source: str
    attributes: list[dict] | None = None
    line_label: str = "line"

    def __len__(self) -> int:
        return len(self.external_ids)


def _bad_text_reason(value: str, what: str) -> str | None:
    """Why ``value`` cannot be stored (undecodable bytes, NUL), or None; ``what`` names the value (translated)."""
    found = _BAD_TEXT.findall(value)
    if not found:
        return None
    escaped = list(dict.fromkeys(ord(ch) - 0xDC00 for ch in found if 0xDC80 <= ord(ch) <= 0xDCFF))
    if escaped:
        return _("%(what)s is not valid UTF-8 (bytes %(bytes)s)") % {
            "what": what, "bytes": " ".join(f"0x{b:02x}" for b in escaped)}
    if "\x00" in found:
        return _("%(what)s contains a NUL character") % {"what": what}
    return _("%(what)s contains an unpaired UTF-16 surrogate") % {"what": what}
