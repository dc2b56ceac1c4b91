"""The audit log, newest first."""

from __future__ import annotations

import strawberry
import strawberry_django

from api.audit.types import AuditEntryType
from api.paging import ListConnection
from api.permissions import CanReadAudit


@strawberry.type
class AuditQuery:
    audit_log: ListConnection[AuditEntryType] = strawberry_django.connection(
        permission_classes=[CanReadAudit], description="Who did what and when, newest first (auditors only)."
    )
