"""Writes of the grid: worker assignments and notices to a grid."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Role
from core.actor import acting_as
from core.feed import change_record
from core.services import notification_send
from gridapp.models import Grid, GridNotice
from gridapp.selectors import PATROL_PERMISSION, grid_workers

PATROL_PERM = f"gridapp.{PATROL_PERMISSION}"


def _require_district_role(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.sees_whole_district:
        raise PermissionDenied(_("Only the command centre may do this."))


def grid_assign_worker(*, actor, grid: Grid, worker, client_ip: str | None = None) -> None:
    """Make ``worker`` a grid worker of ``grid`` (a permission change, audited).

    Who may call: command-centre operators and administrators (or ``actor=None``
    for seeding).  Raises ``ValidationError(code="not_a_grid_worker")`` when the
    user does not have the grid-worker role, ``PermissionDenied`` otherwise.
    """
    if actor is not None:
        _require_district_role(actor)
    if worker.role != Role.GRID_WORKER:
        raise ValidationError(_("Only grid workers can be assigned to a grid."), code="not_a_grid_worker")
    with transaction.atomic():
        with acting_as(actor, client_ip):  # audited by core.permission_audit
            assign_perm(PATROL_PERM, worker, grid)
        change_record(kind="grid.assigned", obj=grid, user_id=worker.pk)


def grid_unassign_worker(*, actor, grid: Grid, worker, client_ip: str | None = None) -> None:
    """Remove ``worker`` from ``grid``.  Who may call: as ``grid_assign_worker``."""
    if actor is not None:
        _require_district_role(actor)
    with transaction.atomic():
        with acting_as(actor, client_ip):
            remove_perm(PATROL_PERM, worker, grid)
        change_record(kind="grid.unassigned", obj=grid, user_id=worker.pk)


def grid_notice_post(*, author, grid: Grid, title: str, body: str = "") -> GridNotice:
    """Post a notice to a grid; a Celery task delivers it to each of the grid's workers.

    Who may call: command-centre operators and administrators.  Raises
    ``PermissionDenied`` for anyone else and ``ValidationError`` (code
    ``required`` / ``too_long``) for an empty or oversized title or body.
    """
    _require_district_role(author)
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        raise ValidationError({"title": ValidationError(_("A title is required."), code="required")})
    if len(title) > 120 or len(body) > 2000:
        raise ValidationError(_("The title (120) or the body (2000 characters) is too long."), code="too_long")
    from gridapp.tasks import grid_notice_deliver_task

    with transaction.atomic():
        notice = GridNotice.objects.create(grid=grid, author=author, title=title, body=body)
        change_record(kind="grid_notice.posted", obj=notice, grid_id=grid.pk)
        grid_notice_deliver_task.delay_on_commit(notice.pk)
    return notice


def grid_notice_deliver(*, notice_id: int) -> int:
    """Put a notice into the inbox of every worker of its grid; returns how many were new.

    Who may call: the ``grid_notice_deliver_task`` Celery task.  Idempotent: a
    retried delivery notifies nobody twice (see ``notification_send``).
    """
    notice = GridNotice.objects.select_related("grid").filter(pk=notice_id).first()
    if notice is None:
        return 0
    delivered = 0
    for worker in grid_workers(notice.grid):
        if notification_send(recipient=worker, title=notice.title, body=notice.body, source=f"grid_notice:{notice.pk}"):
            delivered += 1
    GridNotice.objects.filter(pk=notice.pk, delivered_at__isnull=True).update(delivered_at=timezone.now())
    return delivered
