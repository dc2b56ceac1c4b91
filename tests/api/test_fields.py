"""OneGrid's field class: which fields take strawberry's fast path, and that the fast path answers the same."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from api.fields import OneGridField
from api.incidents.queries import EventQuery
from api.incidents.types import EventType
from api.schema import schema  # noqa: F401  (the schema resolves the fields' types)
from gridapp.incidents.models import Event
from gridapp.incidents.services import event_report

pytestmark = pytest.mark.django_db(transaction=True)


def _field(cls, name: str) -> OneGridField:
    return next(field for field in cls.__strawberry_definition__.fields if field.python_name == name)


def test_columns_and_root_only_resolvers_are_basic_the_rest_are_not():
    for name in ("case_number", "status", "deadline", "category", "is_overdue", "thumbnail_url", "grid"):
        assert _field(EventType, name).is_basic_field, name
    # Lists apply the related type's get_queryset; the viewer's actions need Info; permissions are extensions.
    for name in ("photos", "history", "available_actions"):
        assert not _field(EventType, name).is_basic_field, name
    assert not _field(EventQuery, "event_categories").is_basic_field


def _report(users) -> Event:
    event = event_report(reporter=users["worker"], category_code="02-05", lng=120.31, lat=36.01).event
    return Event.objects.get(pk=event.pk)  # nothing prefetched: the thumbnail needs a query


def test_the_fast_path_calls_a_resolver_with_its_object(users, event_categories):
    event = _report(users)
    assert _field(EventType, "thumbnail_url").get_result(event, None, [], {}) is None
    assert _field(EventType, "is_overdue").get_result(event, None, [], {}) is False
    assert _field(EventType, "grid").get_result(event, None, [], {}).code == event.grid.code
    assert _field(EventType, "case_number").get_result(event, None, [], {}) == event.case_number


def test_in_an_async_context_a_resolver_that_queries_runs_on_a_thread(users, event_categories):
    event = _report(users)

    async def resolve():
        result = _field(EventType, "thumbnail_url").get_result(event, None, [], {})
        assert inspect.isawaitable(result)  # a direct call would raise SynchronousOnlyOperation
        return await result

    assert asyncio.run(resolve()) is None
