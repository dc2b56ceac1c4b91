"""Reads of the change feed, audit log and inbox, restricted to the reader."""

from __future__ import annotations

from django.db.models import Max, QuerySet

from core.audiences import user_scopes
from core.models import AuditEntry, Change, ChangeScope, Notification


def change_visible_to(user) -> QuerySet[Change]:
    """The changes ``user`` may see: the one filter behind ``changes(after:)`` and every subscription.

    Those addressed to any scope the user holds now (``core.audiences.user_scopes``: a person's own inbox is
    theirs alone; the district-wide roles hold ``district``; grids, departments and the next apps' audiences
    are computed by the apps that registered them, from the user's *current* role and assignments).  The
    watcher's in-memory fan-out (``api/watcher.py``) applies the same scopes and must agree.
    """
    return changes_in_scopes(user_scopes(user))


def changes_in_scopes(keys: frozenset[str]) -> QuerySet[Change]:
    if not keys:
        return Change.objects.none()
    return Change.objects.filter(id__in=ChangeScope.objects.filter(key__in=sorted(keys)).values("change_id"))


def change_page(*, user, after: int, first: int) -> list[Change]:
    """Up to ``first`` visible changes with a cursor above ``after``, oldest first."""
    return change_page_in(user_scopes(user), after=after, first=first)


def change_page_in(keys: frozenset[str], *, after: int, first: int) -> list[Change]:
    """Up to ``first`` changes addressed to any of ``keys`` with a cursor above ``after``, oldest first."""
    if not keys:
        return []
    ids = (ChangeScope.objects.filter(key__in=sorted(keys), change_id__gt=after)
           .order_by("change_id").values("change_id").distinct()[:first])
    return list(Change.objects.filter(id__in=ids).order_by("id"))  # one query: the page's ids as a subquery


def change_latest_id(user) -> int:
    """The newest cursor ``user`` may see (0: none)."""
    keys = user_scopes(user)
    if not keys:
        return 0
    return ChangeScope.objects.filter(key__in=sorted(keys)).aggregate(top=Max("change_id"))["top"] or 0


def audit_entries_for(user) -> QuerySet[AuditEntry]:
    """The audit log, for auditors and administrators only."""
    if user is None or not user.is_authenticated or not user.may_read_audit:
        return AuditEntry.objects.none()
    return AuditEntry.objects.all().order_by("-id")


def notifications_for(user) -> QuerySet[Notification]:
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-id")
