"""The audit log, for auditors."""

from __future__ import annotations

from datetime import datetime

import strawberry
import strawberry_django
from strawberry import relay

from api.fields import django_type
from api.nodes import MODEL_ID
from api.paging import ListConnection
from api.permissions import CanReadAudit
from api.restrict import Restricted
from core.models import AuditEntry


@strawberry_django.filter_type(AuditEntry, lookups=True)
class AuditEntryFilter:
    action: strawberry.auto
    actor_label: strawberry.auto
    result: strawberry.auto
    at: strawberry.auto


@django_type(AuditEntry, name="AuditEntry", filters=AuditEntryFilter)
class AuditEntryType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    at: datetime
    actor_label: str
    action: str
    target: str
    result: str
    error_code: str
    client_ip: str | None
    user_agent: str


@strawberry.type
class AuditQuery:
    audit_log: ListConnection[AuditEntryType] = strawberry_django.connection(
        permission_classes=[CanReadAudit], description="Who did what and when, newest first (auditors only)."
    )
