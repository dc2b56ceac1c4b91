"""Entries of the audit log."""

from __future__ import annotations

from datetime import datetime

from strawberry import relay

from api.audit.filters import AuditEntryFilter
from api.fields import django_type
from api.nodes import MODEL_ID
from api.restrict import Restricted
from core.models import AuditEntry


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
