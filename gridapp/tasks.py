"""Celery entry points of the grid: take ids, call a service."""

from celery import shared_task

from gridapp.services import events_escalate, grid_notice_deliver


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90, autoretry_for=(ConnectionError,),
             retry_backoff=True, max_retries=5)
def grid_notice_deliver_task(notice_id: int) -> int:
    return grid_notice_deliver(notice_id=notice_id)


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def events_escalate_task() -> int:
    """Beat, every EVENT_ESCALATION_CHECK_SECONDS: escalate overdue events (idempotent per level)."""
    return events_escalate()
