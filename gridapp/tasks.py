"""Celery entry points of the grid: take ids, call a service."""

from celery import shared_task

from gridapp.services import grid_notice_deliver


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90, autoretry_for=(ConnectionError,),
             retry_backoff=True, max_retries=5)
def grid_notice_deliver_task(notice_id: int) -> int:
    return grid_notice_deliver(notice_id=notice_id)
