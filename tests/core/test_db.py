"""core.db.rows_update: each object's fields saved as save() would store them, in one executemany."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.db import rows_update
from gridapp.geography.models import BaseRecord, RecordKind

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_and_other_rows_and_fields_stay(district):
    records = [BaseRecord.objects.create(external_id=f"B-{n}", kind=RecordKind.BUILDING, name=f"楼 {n}", lng=120.3,
                                         lat=36.0, grid=district.grid, attributes={"n": n}) for n in range(3)]
    first, second, untouched = records
    first.attributes, first.updated_at, first.name = {"floors": [1, 2], "名": "甲"}, datetime(2026, 1, 2, tzinfo=UTC), "x"
    second.attributes, second.updated_at = [], datetime(2026, 3, 4, 5, 6, tzinfo=UTC)

    with CaptureQueriesContext(connection) as queries:
        rows_update([first, second], ["attributes", "updated_at"])
    assert len(queries) <= 1  # one executemany (SQLite's backend logs it as one query)

    first.refresh_from_db()
    second.refresh_from_db()
    untouched_before = untouched.updated_at
    untouched.refresh_from_db()
    assert (first.attributes, first.updated_at, first.name) == (
        {"floors": [1, 2], "名": "甲"}, datetime(2026, 1, 2, tzinfo=UTC), "楼 0")  # name was not among the fields
    assert (second.attributes, second.updated_at) == ([], datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    assert (untouched.attributes, untouched.updated_at) == ({"n": 2}, untouched_before)


def test_nothing_to_update_runs_nothing():
    with CaptureQueriesContext(connection) as queries:
        rows_update([], ["attributes"])
    assert len(queries) == 0
