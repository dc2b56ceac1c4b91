"""A user's access changed (role, department, active, superuser): tell their live subscriptions at once.

A subscription holds the scopes its user had when it last read them (``core.audiences``).  Any save of a
user that changes what decides those scopes, from a service or the admin, records a change addressed to that
user's control scope (``user.access_changed``; no feed shows it), which makes each of their subscriptions read the user again before it
delivers anything more: a demoted worker stops receiving their old grid's changes with the next message.
"""

from __future__ import annotations

from django.db import transaction

from core.audiences import access_scope
from core.feed import change_record

#: The user's columns that decide their scopes.
ACCESS_FIELDS = ("role", "department_id", "is_active", "is_superuser")


def access_remember(sender, instance, update_fields=None, **kwargs) -> None:
    """pre_save: what the columns were, unless the save cannot touch them (a login's ``last_login``)."""
    instance._access_before = None
    if instance.pk is None or instance._state.adding:
        return
    if update_fields is not None and not {name.removesuffix("_id") for name in ACCESS_FIELDS} & {
            name.removesuffix("_id") for name in update_fields}:
        return
    instance._access_before = type(instance).objects.filter(pk=instance.pk).values_list(*ACCESS_FIELDS).first()


def access_announce(sender, instance, created, **kwargs) -> None:
    """post_save: a change addressed to the user when their access columns changed."""
    before = getattr(instance, "_access_before", None)
    if created or before is None or before == tuple(getattr(instance, name) for name in ACCESS_FIELDS):
        return
    with transaction.atomic():
        change_record(kind="user.access_changed", obj=instance, to=[access_scope(instance.pk)])
