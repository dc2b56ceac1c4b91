"""Narrowing the audit log."""

from __future__ import annotations

import strawberry
import strawberry_django

from core.models import AuditEntry


@strawberry_django.filter_type(AuditEntry, lookups=True)
class AuditEntryFilter:
    action: strawberry.auto
    actor_label: strawberry.auto
    result: strawberry.auto
    at: strawberry.auto
