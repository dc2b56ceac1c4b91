"""Reads of the change feed, audit log and inbox, restricted to the reader."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.models import AuditEntry, Change, Notification


def change_visible_to(user) -> QuerySet[Change]:
    """The changes ``user`` may see: the one filter behind ``changes(after:)`` and every subscription.

    District-wide roles see everything; everyone else sees changes addressed to
    them, to a grid they work in or supervise, or to their department.  Built from the
    user's *current* permissions every time it is evaluated.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Change.objects.none()
    if user.sees_whole_district:
        return Change.objects.all()
    from gridapp.selectors import grid_ids_watched_by  # gridapp writes changes; imported lazily

    audience = Q(user_id=user.pk)
    for grid_ids in grid_ids_watched_by(user):
        audience |= Q(grid_id__in=grid_ids)
    if user.department_id is not None:
        audience |= Q(department_id=user.department_id)
    return Change.objects.filter(audience)


def change_page(*, user, after: int, first: int) -> list[Change]:
    """Up to ``first`` visible changes with a cursor above ``after``, oldest first."""
    return list(change_visible_to(user).filter(id__gt=after).order_by("id")[:first])


def audit_entries_for(user) -> QuerySet[AuditEntry]:
    """The audit log, for auditors and administrators only."""
    if user is None or not user.is_authenticated or not user.may_read_audit:
        return AuditEntry.objects.none()
    return AuditEntry.objects.all().order_by("-id")


def notifications_for(user) -> QuerySet[Notification]:
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-id")
