"""Celery entry points of the platform: the workflow engine's notices."""

from celery import shared_task

from core.workflow.steps import workflow_case_holders_notify


@shared_task(acks_late=True, soft_time_limit=60, time_limit=80)
def workflow_case_holders_notify_task(case_id: int, version: int) -> int:
    """Tell the holders of the step a stored workflow's case waits at (idempotent per case version)."""
    return workflow_case_holders_notify(case_id=case_id, version=version)
