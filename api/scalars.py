"""Times are stored in UTC and shown in Asia/Shanghai (``TIME_ZONE``)."""

from __future__ import annotations

import datetime
from typing import NewType

import strawberry
from django.utils import timezone


def _serialize(value: datetime.datetime) -> str:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    return timezone.localtime(value).isoformat()


def _parse(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)  # a time without offset is read as local time
    return parsed


LocalDateTime = strawberry.scalar(
    name="DateTime",
    description="An ISO-8601 date and time with its offset, shown in Asia/Shanghai (+08:00).",
    serialize=_serialize,
    parse_value=_parse,
)

def _output_only(value):
    raise ValueError("column scalars are output only")


IdColumn = NewType("IdColumn", list)
StringColumn = NewType("StringColumn", list)
FloatColumn = NewType("FloatColumn", list)
IntColumn = NewType("IntColumn", list)
BooleanColumn = NewType("BooleanColumn", list)


def _column(name: str, item: str):
    return strawberry.scalar(
        name=name, serialize=list, parse_value=_output_only,
        description=f"A column: a JSON array of {item}, one entry per row of the object that holds it. Sent as one "
                    f"value instead of a GraphQL list so that a 10,000-row map layer is not 10,000 field completions.",
    )


#: For ``StrawberryConfig(scalar_map=...)``.
COLUMN_SCALARS = {
    IdColumn: _column("IdColumn", "global ids (strings)"),
    StringColumn: _column("StringColumn", "strings or nulls"),
    FloatColumn: _column("FloatColumn", "numbers"),
    IntColumn: _column("IntColumn", "integers"),
    BooleanColumn: _column("BooleanColumn", "booleans"),
}

SCALAR_OVERRIDES = {datetime.datetime: LocalDateTime}
