"""Page arguments of every connection: ``first``/``last`` in range, cursors that this server could have issued.

A list asked without ``first`` or ``last`` gets one page of ``GRAPHQL["DEFAULT_PAGE_SIZE"]``; no page is larger
than ``GRAPHQL["MAX_PAGE_SIZE"]``.  A phone that sends ``first: 1000`` or a cursor it mangled made a mistake it can fix: it gets
``invalid_page_size`` or ``invalid_cursor``, translated, instead of the library's ``ValueError`` (which
production masks as ``internal_error`` and logs as a bug).  Every connection field uses ``ListConnection``
(offset cursors) or ``CursorConnection`` (keyset cursors) from here, so the check is made in one place.

``page_args_check`` is the one helper: call it from any other paged resolver too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import strawberry
from django.conf import settings
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry_django.relay import DjangoCursorConnection, DjangoListConnection
from strawberry_django.relay.cursor_connection import (
    DjangoCursorEdge,
    OrderedCollectionCursor,
    annotate_ordering_fields,
)

from api.errors import GraphQLCodedError

#: An offset cursor's number: ASCII digits only (``str.isdigit`` also takes "²" and "٣", which ``int`` refuses or
#: reads), short enough for any database's OFFSET.
_OFFSET = re.compile(r"[0-9]{1,15}")
_BIGINT = 2**63


def max_page_size() -> int:
    return settings.GRAPHQL["MAX_PAGE_SIZE"]


def default_page_size(first: int | None, last: int | None) -> int | None:
    """``first`` as asked, or ``GRAPHQL["DEFAULT_PAGE_SIZE"]`` when neither ``first`` nor ``last`` was given: a
    list asked without a size is one page, never the whole table (1.6 M records at full scale)."""
    return settings.GRAPHQL["DEFAULT_PAGE_SIZE"] if first is None and last is None else first


def invalid_cursor() -> GraphQLCodedError:
    return GraphQLCodedError(_("The cursor is not valid."), "invalid_cursor")


def cursor_payload(cursor: str, *, prefix: str) -> str:
    """What a relay cursor ``base64("<prefix>:<payload>")`` carries, or ``invalid_cursor``."""
    try:
        text = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, ValueError):  # bad padding or alphabet; not UTF-8
        raise invalid_cursor() from None
    kind, colon, payload = text.partition(":")
    if kind != prefix or not colon:
        raise invalid_cursor()
    return payload


def page_args_check(*, first: int | None = None, last: int | None = None, max_size: int | None = None) -> None:
    """Refuse a page size outside ``0..max_size`` (default ``GRAPHQL["MAX_PAGE_SIZE"]``) with ``invalid_page_size``."""
    limit = max_page_size() if max_size is None else max_size
    for value in (first, last):
        if value is not None and not 0 <= value <= limit:
            raise GraphQLCodedError(_("first and last must be between 0 and %(max)d.") % {"max": limit},
                                    "invalid_page_size", maxPageSize=limit)


def offset_cursor_check(cursor: str | None) -> None:
    """An offset cursor (``ListConnection``) must be ``arrayconnection:<digits>``."""
    if cursor and not _OFFSET.fullmatch(cursor_payload(cursor, prefix=relay.types.PREFIX)):
        raise invalid_cursor()


def keyset_cursor_check(cursor: str | None, queryset) -> None:
    """A keyset cursor (``CursorConnection``) must hold one value per ordering column of ``queryset``, each one
    that column can take."""
    if not cursor:
        return
    payload = cursor_payload(cursor, prefix=DjangoCursorEdge.CURSOR_PREFIX)
    try:
        values = json.loads(payload)
    except ValueError:
        raise invalid_cursor() from None
    if not isinstance(values, list) or any(not (value is None or isinstance(value, str)) for value in values):
        raise invalid_cursor()
    _annotated, descriptors, _order = annotate_ordering_fields(queryset)  # builds expressions, runs no query
    try:
        decoded = OrderedCollectionCursor.from_cursor(cursor, descriptors).field_values
    except (ValueError, TypeError, OverflowError):
        raise invalid_cursor() from None
    if any(isinstance(value, int) and not -_BIGINT <= value < _BIGINT for value in decoded):
        raise invalid_cursor()


@strawberry.type(name="Connection", description="A connection to a list of items.")
class ListConnection(DjangoListConnection[relay.NodeType]):
    """strawberry-django's offset connection, with its arguments checked first."""

    @classmethod
    def resolve_connection(cls, nodes, *, info, before: str | None = None, after: str | None = None,
                           first: int | None = None, last: int | None = None, **kwargs: Any):
        page_args_check(first=first, last=last, max_size=kwargs.get("max_results"))
        first = default_page_size(first, last)
        offset_cursor_check(after)
        offset_cursor_check(before)
        return super().resolve_connection(nodes, info=info, before=before, after=after, first=first, last=last,
                                          **kwargs)


@strawberry.type(name="CursorConnection", description="A connection to a list of items.")
class CursorConnection(DjangoCursorConnection[relay.NodeType]):
    """strawberry-django's keyset connection, with its arguments checked first."""

    @classmethod
    def resolve_connection(cls, nodes, *, info, before: str | None = None, after: str | None = None,
                           first: int | None = None, last: int | None = None, **kwargs: Any):
        page_args_check(first=first, last=last, max_size=kwargs.get("max_results"))
        first = default_page_size(first, last)
        keyset_cursor_check(after, nodes)
        keyset_cursor_check(before, nodes)
        return super().resolve_connection(nodes, info=info, before=before, after=after, first=first, last=last,
                                          **kwargs)
