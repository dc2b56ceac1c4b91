"""A queryset's mark that it is already narrowed to what one user may see of its model.

A domain app's visibility selector marks what it returns with ``restricted``; the API's safety net
(``api/restrict``) takes a queryset marked for the viewer as it is instead of applying the visibility again.
"""

from __future__ import annotations

from django.db.models import QuerySet


def restricted(queryset: QuerySet, user) -> QuerySet:
    """Mark ``queryset`` as narrowed to what ``user`` may see of its model (by that model's visibility
    selector: ``gridapp.incidents.selectors.events_visible_to``, ``vision.selectors.cameras_visible_to``).  The mark survives filtering,
    ordering and slicing, and lets the API skip its safety net (a type's ``get_queryset`` applying the
    visibility again), which on the mobile home screen cost a tenth of the request.  Only a subset of what the
    selector returns may be marked, and only narrowing may follow: ``|`` with a wider queryset would keep the
    mark."""
    queryset._hints = {**queryset._hints, "onegrid_restricted_for": user.pk}
    return queryset


def restricted_to(queryset: QuerySet, user) -> bool:
    """Whether ``queryset`` was narrowed to what ``user`` may see with ``restricted`` (never for an anonymous
    user, whose missing id must not match a missing mark)."""
    return user.pk is not None and queryset._hints.get("onegrid_restricted_for") == user.pk
