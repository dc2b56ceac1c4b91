"""Celery entry points of the parks."""

from celery import shared_task

from parks.charging import sessions_close_silent


@shared_task(name="parks.tasks.charging_sessions_close_silent", acks_late=True, soft_time_limit=60, time_limit=80)
def charging_sessions_close_silent_task() -> int:
    """Close the charging sessions whose charger went silent (none stays open for ever)."""
    return sessions_close_silent()
