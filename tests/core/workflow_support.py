"""What the workflow tests share: reading an error's codes, the change rows and queued tasks of an object."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.models import Change, OutboxTask


def codes(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [item.code for items in error.error_dict.values() for item in items]
    return [item.code for item in error.error_list]


def fields(error: ValidationError) -> list[str]:
    return sorted(error.error_dict) if hasattr(error, "error_dict") else []


def changes_of(obj) -> list[str]:
    return list(Change.objects.filter(object_type=obj._meta.label_lower, object_id=obj.pk)
                .order_by("id").values_list("kind", flat=True))


def queued(task: str) -> list[list]:
    return [row.args for row in OutboxTask.objects.filter(task=task).order_by("created_at")]
