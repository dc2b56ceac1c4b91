"""Supervisors added to or removed from a street or a community: tell their live subscriptions at once.

A supervisor's grid scopes come from the streets and communities they supervise (``grid_ids_supervised_by``).
A change of those many-to-many rows, from a service or the admin, records ``user.access_changed`` addressed to
each affected user's control scope, which makes their open subscriptions read their scopes again before they
deliver anything more (``api/feed.visible_changes``), as a role change does (``accounts/access.py``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from core.audiences import access_scope
from core.feed import change_record


def supervisors_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """m2m_changed of ``Street.supervisors`` and ``Community.supervisors``."""
    if action == "pre_clear":
        instance._supervisors_cleared = (
            set(instance.supervisors.values_list("pk", flat=True)) if not reverse else {instance.pk})
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        user_ids = getattr(instance, "_supervisors_cleared", set())
    else:
        user_ids = {instance.pk} if reverse else set(pk_set or ())
    if not user_ids:
        return
    User = get_user_model()
    with transaction.atomic():
        for user_id in sorted(user_ids):
            change_record(kind="user.access_changed", obj=User(pk=user_id), to=[access_scope(user_id)])
