"""Reads of the change feed, audit log and inbox, restricted to the reader."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.models import AuditEntry, Change, Notification


def change_visible_to(user) -> QuerySet[Change]:
    """The changes ``user`` may see: the one filter behind ``changes(after:)`` and every subscription.

    A change addressed to one person (their inbox, their suggestions) is theirs alone, whatever the reader's
    role.  District-wide roles see every change addressed to a grid or a department; everyone else those
    addressed to a grid they work in or supervise, and department staff (by role, not by a department column
    left on a demoted account) their department's.  Built from the user's *current* role and permissions
    every time it is evaluated; ``api.feed.Interest`` is the same rule as a pre-filter and must agree.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Change.objects.none()
    personal = Q(user_id=user.pk)
    if user.sees_whole_district:
        return Change.objects.filter(personal | Q(grid_id__isnull=False) | Q(department_id__isnull=False)
                                     | Q(user_id__isnull=True))
    from gridapp.geography.selectors import grid_ids_watched_by  # gridapp writes changes; imported lazily

    audience = personal
    for grid_ids in grid_ids_watched_by(user):
        audience |= Q(grid_id__in=grid_ids)
    if user.is_department_staff:
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
