"""Celery entry points of the parks."""

import logging

from celery import shared_task

from parks.charging import sessions_close_silent
from parks.models import BarrierEvent, BarrierState
from parks.parking import barrier_event_read, barrier_snapshot, overstays_flag

log = logging.getLogger(__name__)


@shared_task(name="parks.tasks.charging_sessions_close_silent", acks_late=True, soft_time_limit=60, time_limit=80)
def charging_sessions_close_silent_task() -> int:
    """Close the charging sessions whose charger went silent (none stays open for ever)."""
    return sessions_close_silent()


@shared_task(name="parks.tasks.barrier_plate_read_task", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=30, time_limit=45)
def barrier_plate_read_task(event_id: int) -> str:
    """Read the plate of a vehicle at a barrier and decide (routed to the ``vision`` queue, beside the cameras:
    its workers hold the models).  Returns the event's state."""
    from vision.plates import PlateReaderUnavailable, plates_read

    event = BarrierEvent.objects.filter(pk=event_id).first()
    if event is None or event.state != BarrierState.READING:
        return event.state if event is not None else "gone"  # redelivered, or the operator was faster
    readings, problem = [], ""
    try:
        readings = [reading.as_dict() for reading in plates_read(barrier_snapshot(event))]
    except PlateReaderUnavailable:
        problem = "no_reader"
    except (ValueError, OSError):  # a snapshot that does not decode, storage failing
        log.warning("barrier event %s: the snapshot could not be read", event_id, exc_info=True)
        problem = "no_plate"
    return barrier_event_read(event_id=event_id, readings=readings, problem=problem).state


@shared_task(name="parks.tasks.overstays_flag_task", acks_late=True, soft_time_limit=60, time_limit=80)
def overstays_flag_task() -> int:
    """Flag the vehicles parked longer than allowed."""
    return overstays_flag()
