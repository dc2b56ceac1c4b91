"""The audit log: append-only, one row per mutation, login and permission change."""

from __future__ import annotations

from django.db import transaction

from core.models import AuditEntry, AuditResult


def audit_record(
    *,
    action: str,
    result: str = AuditResult.OK,
    actor=None,
    actor_label: str = "",
    target: str = "",
    error_code: str = "",
    client_ip: str | None = None,
    user_agent: str = "",
    details: dict | None = None,
) -> AuditEntry:
    """Write one audit row.

    Who may call: services and the API layer.  A failed action must still be
    recorded, so when the caller's transaction is rolling back the caller
    records *after* it (the API's audit extension does so); inside a
    transaction the row commits or rolls back with the action it describes.
    """
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    with transaction.atomic():
        return AuditEntry.objects.create(
            action=action[:80],
            result=result,
            actor=actor,
            actor_label=(actor_label or (actor.get_username() if actor else ""))[:150],
            target=target[:200],
            error_code=error_code[:60],
            client_ip=client_ip or None,
            user_agent=(user_agent or "")[:200],
            details=details or {},
        )
