"""Shared government data sources: what the government already knows about an applicant, so that it is never
asked for.

Each source (the enterprise registry, the population registry, the social-organisation registry, the education
bureau's school records) is an adapter behind one interface, ``DataSource.find(holder, record)``: the holder's
record of that type, or None when the source has none.  ``source_find`` calls it under the source's timeout
and turns any failure (a timeout, a refused connection, an answer that is not what was asked) into
``SourceUnavailable`` with the reason, which an application shows as "please upload" rather than an error.

``settings.APPROVAL_SOURCES`` names each source's adapter and options.  ``DemoSource`` answers from the seeded
``RegistryRecord`` table (the demo district); ``HttpSource`` asks a JSON endpoint, as a deployment connected to
the province's data-sharing platform would.
"""

from __future__ import annotations

import concurrent.futures
import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Protocol

import httpx
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from approvals.identity import identity_unseal
from approvals.models import Holder, RegistryRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRecord:
    """What a source holds: which source, which record (type and id), what it says, and when it was read."""

    source: str
    record: str
    record_id: str
    data: dict = field(default_factory=dict)
    fetched_at: datetime | None = None

    def provenance(self) -> dict:
        return {"source": self.source, "record": self.record, "recordId": self.record_id,
                "fetchedAt": self.fetched_at.isoformat() if self.fetched_at else None}


class SourceUnavailable(Exception):
    """The source could not be asked (``reason``: ``timeout``, ``unreachable``, ``bad_answer``, ``unknown``)."""

    def __init__(self, source: str, reason: str, detail: str = ""):
        super().__init__(f"{source}: {reason} {detail}".strip())
        self.source, self.reason, self.detail = source, reason, detail


class DataSource(Protocol):
    code: str
    #: Asked over the network: called in a thread of its own, so that one that hangs costs its timeout only.
    remote: bool

    def find(self, holder: Holder, record: str) -> SourceRecord | None: ...


class DemoSource:
    """The demo district's registry, from ``RegistryRecord`` rows (seeded by ``seed_demo``)."""

    remote = False

    def __init__(self, code: str, **_options):
        self.code = code

    def find(self, holder: Holder, record: str) -> SourceRecord | None:
        row = RegistryRecord.objects.filter(source=self.code, record=record, subject_digest=holder.id_digest,
                                            valid=True).first()
        if row is None:
            return None
        return SourceRecord(source=self.code, record=record, record_id=row.record_id, data=row.data,
                            fetched_at=timezone.now())


class HttpSource:
    """A registry behind a JSON endpoint: ``POST <url>/<record>`` with ``{"id": "<identity number>"}`` answers 200
    with ``{"recordId": ..., "data": {...}}`` or 404 when it holds none.  The number travels in the body, never in
    a URL that access logs keep."""

    remote = True

    def __init__(self, code: str, *, url: str, token: str = "", **_options):
        self.code, self.url, self.token = code, url.rstrip("/"), token

    def find(self, holder: Holder, record: str) -> SourceRecord | None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        timeout = source_timeout(self.code)
        try:
            response = httpx.post(f"{self.url}/{record}", json={"id": identity_unseal(holder.id_sealed)},
                                  headers=headers, timeout=timeout)
        except httpx.TimeoutException as error:
            raise SourceUnavailable(self.code, "timeout", str(error)) from None
        except httpx.HTTPError as error:
            raise SourceUnavailable(self.code, "unreachable", str(error)) from None
        if response.status_code == 404:
            return None
        try:
            response.raise_for_status()
            answer = response.json()
            record_id = str(answer["recordId"])
            data = answer.get("data") or {}
            if not isinstance(data, dict):
                raise TypeError("data is not an object")
        except (httpx.HTTPStatusError, ValueError, KeyError, TypeError) as error:
            raise SourceUnavailable(self.code, "bad_answer", str(error)[:200]) from None
        return SourceRecord(source=self.code, record=record, record_id=record_id, data=data,
                            fetched_at=timezone.now())


def source_timeout(code: str) -> float:
    return float(settings.APPROVAL_SOURCES.get(code, {}).get("timeout", settings.APPROVAL_SOURCE_TIMEOUT_SECONDS))


@cache
def source_get(code: str) -> DataSource:
    """The adapter of source ``code``; ``SourceUnavailable(unknown)`` for a source not configured."""
    options = dict(settings.APPROVAL_SOURCES.get(code) or {})
    if not options:
        raise SourceUnavailable(code, "unknown")
    adapter = import_string(options.pop("adapter"))
    options.pop("timeout", None)
    return adapter(code, **options)


#: Calls to sources run here, so that a source that hangs costs its timeout and no more.
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="approval-source")


def source_find(code: str, holder: Holder, record: str) -> SourceRecord | None:
    """``holder``'s record of type ``record`` in source ``code``, or None; ``SourceUnavailable`` when the source
    cannot tell (not configured, failed, or slower than its timeout)."""
    try:
        source = source_get(code)
    except ImportError as error:
        raise SourceUnavailable(code, "unknown", str(error)) from None
    try:
        if not getattr(source, "remote", True):
            return source.find(holder, record)
        future = _pool.submit(_find_in_thread, source, holder, record)
        return future.result(timeout=source_timeout(code))
    except concurrent.futures.TimeoutError:
        future.cancel()
        log.warning("data source %s did not answer within %.1f s", code, source_timeout(code))
        raise SourceUnavailable(code, "timeout") from None
    except SourceUnavailable:
        raise
    except Exception as error:  # whatever an adapter raised: the source could not tell
        log.warning("data source %s failed: %s", code, error)
        raise SourceUnavailable(code, "unreachable", str(error)[:200]) from None


def _find_in_thread(source: DataSource, holder: Holder, record: str) -> SourceRecord | None:
    try:
        return source.find(holder, record)
    finally:
        close_old_connections()  # the thread's own database connection, if the adapter used one


def source_name(code: str) -> str:
    """A source as the applicant reads it."""
    names = {"enterprise_registry": _("the enterprise registry"), "population_registry": _("the population registry"),
             "social_org_registry": _("the social-organisation registry"),
             "school_records": _("the education bureau's school records")}
    return str(names.get(code, code))


def unavailable_text(error: SourceUnavailable) -> str:
    """Why a material was not proven from a source, for the applicant."""
    texts = {"timeout": _("the source did not answer in time"), "unreachable": _("the source could not be reached"),
             "bad_answer": _("the source gave an answer that could not be read"),
             "unknown": _("the source is not connected")}
    return texts.get(error.reason, error.reason)
