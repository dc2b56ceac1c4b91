"""Housekeeping tasks."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from accounts.models import AuthToken
from core.workflow.steps import workflow_case_holders_notify


@shared_task(acks_late=True, soft_time_limit=60, time_limit=80)
def tokens_prune() -> int:
    """Delete tokens that expired or were revoked more than a day ago (idempotent)."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = AuthToken.objects.filter(expires_at__lt=cutoff).delete()
    revoked, _ = AuthToken.objects.filter(revoked_at__lt=cutoff).delete()
    return deleted + revoked


@shared_task(acks_late=True, soft_time_limit=60, time_limit=80)
def workflow_case_holders_notify_task(case_id: int, version: int) -> int:
    """Tell the holders of the step a stored workflow's case waits at (idempotent per case version)."""
    return workflow_case_holders_notify(case_id=case_id, version=version)
