"""Celery entry points of the grid: take ids, call a service."""

import logging

from celery import shared_task
from django.core.exceptions import ValidationError

from gridapp.geography.crs import CRS
from gridapp.geography.services import grid_notice_deliver
from gridapp.incidents.services import event_report, events_escalate
from gridapp.sensors.services import watch_sweep

log = logging.getLogger(__name__)


# A retry's countdown is spent holding the message unacknowledged: countdown plus run time stays below the
# broker's visibility timeout (100 s), or the broker would hand the task out a second time.
@shared_task(acks_late=True, soft_time_limit=30, time_limit=40, autoretry_for=(ConnectionError,),
             retry_backoff=True, retry_backoff_max=30, max_retries=5)
def grid_notice_deliver_task(notice_id: int) -> int:
    return grid_notice_deliver(notice_id=notice_id)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=80)
def events_escalate_task() -> int:
    """Beat, every EVENT_ESCALATION_CHECK_SECONDS: escalate overdue events (idempotent per level)."""
    return events_escalate()


@shared_task(acks_late=True, soft_time_limit=30, time_limit=40, autoretry_for=(ConnectionError,),
             retry_backoff=True, retry_backoff_max=30, max_retries=5)
def event_report_task(*, source: str, source_key: str, category_code: str, lng: float, lat: float,
                      crs: str = "WGS84", description: str = "") -> int | None:
    """A machine's report (a sensor's alarm, a back-office feed) through the one intake; returns the event id.

    ``source_key`` identifies the alarm, so a redelivered task reports nothing twice.  A report the intake
    refuses (unknown category, outside the district) is logged and dropped: retrying cannot fix it.
    """
    try:
        outcome = event_report(reporter=None, source=source, source_key=source_key, category_code=category_code,
                               lng=lng, lat=lat, crs=CRS(crs), description=description)
    except ValidationError as exc:
        log.warning("machine report %s refused: %s", source_key, "; ".join(exc.messages))
        return None
    return outcome.event.pk


@shared_task(acks_late=True, soft_time_limit=60, time_limit=80)
def sensors_watch_task() -> dict:
    """Beat, every SENSOR_WATCH_CHECK_SECONDS: the watch's rules over every watched household (idempotent)."""
    result = watch_sweep()
    return {"raised": result.raised, "cleared": result.cleared, "closed": result.closed}
