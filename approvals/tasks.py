"""Celery entry points of the approvals app."""

from __future__ import annotations

from celery import shared_task

from approvals.services import certificates_expire


@shared_task(name="approvals.tasks.certificates_expire_task", ignore_result=True)
def certificates_expire_task() -> int:
    """Mark certificates whose period ended as expired (beat runs it every CERTIFICATE_EXPIRE_CHECK_SECONDS)."""
    return certificates_expire()
