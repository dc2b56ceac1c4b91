"""Celery entry points of the accounts: housekeeping of tokens."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from accounts.models import AuthToken


# Named as when it lived in core (beat schedules, queued messages and outbox rows name it so).
@shared_task(name="core.tasks.tokens_prune", acks_late=True, soft_time_limit=60, time_limit=80)
def tokens_prune() -> int:
    """Delete tokens that expired or were revoked more than a day ago (idempotent)."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = AuthToken.objects.filter(expires_at__lt=cutoff).delete()
    revoked, _ = AuthToken.objects.filter(revoked_at__lt=cutoff).delete()
    return deleted + revoked
