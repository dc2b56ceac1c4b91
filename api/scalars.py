"""Times are stored in UTC and shown in Asia/Shanghai (``TIME_ZONE``)."""

from __future__ import annotations

import datetime

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

SCALAR_OVERRIDES = {datetime.datetime: LocalDateTime}
