"""Who may see which object: one rule per model, and every object that leaves the API passes it.

The rules (``RULES``) name, per model, the selector that narrows a queryset to what a user may see.  They are
applied in three places, which together cover every way an object leaves the API:

* ``Restricted``, the base of every model type that is a node: its ``get_queryset`` applies the rule to
  lists, connections, ``node(id:)`` and the relations the optimizer prefetches;
* ``OneGridField`` (``api/fields.py``): a to-one relation to a restricted type that the optimizer did not
  prefetch (an object a mutation returned) is read through the rule, never by a bare attribute.  The field
  trusts a related object already loaded on its instance, so a read path of the API must never
  ``select_related`` such a relation (``api.incidents.subscriptions._event_for`` says so where it matters);
* ``Payload``, the base of every mutation payload: each object (or list of objects) it is built with is
  re-read through the rule as the acting viewer, so a service's return value never leaves unfiltered.

A node type whose objects every signed-in user may see (categories, departments) says so by
deriving from ``Public`` instead.  ``tests/api/test_restriction.py`` holds every node type and every payload
to this.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet

from api.context import viewer
from core.actor import current_actor
from core.models import AuditEntry, Notification
from core.restriction import restricted_to
from core.selectors import audit_entries_for
from gridapp.geography import selectors as grid
from gridapp.geography.models import BaseRecord, Community, Grid, GridNotice, IndustryGrid, Street
from gridapp.incidents import selectors as incidents
from gridapp.incidents.models import Event, EventPhoto
from vision.models import Camera, Situation
from vision.selectors import cameras_visible_to

Rule = Callable[[Any, QuerySet], QuerySet]


def _events(user, events: QuerySet) -> QuerySet:
    audience = incidents.event_audience(user)
    return events if audience is None else events.filter(audience)


def _event_photos(user, photos: QuerySet) -> QuerySet:
    audience = incidents.event_audience(user)
    return photos if audience is None else photos.filter(event__in=Event.objects.filter(audience).values("pk"))


def _people(user, people: QuerySet) -> QuerySet:
    """A person's account: themselves, and the district-wide roles."""
    return people if user.sees_whole_district else people.filter(pk=user.pk)


RULES: dict[type[Model], Rule] = {
    Event: _events,
    EventPhoto: _event_photos,
    Street: lambda user, qs: qs.filter(pk__in=grid.streets_visible_to(user).values("pk")),
    Community: lambda user, qs: qs.filter(pk__in=grid.communities_visible_to(user).values("pk")),
    Grid: lambda user, qs: qs.filter(pk__in=grid.grids_visible_to(user).values("pk")),
    IndustryGrid: lambda user, qs: qs.filter(pk__in=grid.industry_grids_visible_to(user).values("pk")),
    BaseRecord: lambda user, qs: qs.filter(pk__in=grid.records_visible_to(user).values("pk")),
    GridNotice: lambda user, qs: qs.filter(grid__in=grid.grids_visible_to(user).values("pk")),
    Camera: lambda user, qs: cameras_visible_to(user, qs),
    Situation: lambda user, qs: qs.filter(camera__in=cameras_visible_to(user).values("pk")),
    Notification: lambda user, qs: qs.filter(recipient_id=user.pk),
    AuditEntry: lambda user, qs: qs.filter(pk__in=audit_entries_for(user).values("pk")),
}


def _rule(model: type[Model]) -> Rule:
    if model is get_user_model():
        return _people
    try:
        return RULES[model]
    except KeyError:
        raise LookupError(f"no visibility rule for {model._meta.label}: add one to api.restrict.RULES") from None


def visible(model: type[Model], user, queryset: QuerySet | None = None) -> QuerySet:
    """``queryset`` (default: every ``model``) narrowed to what ``user`` may see; nothing for no user.

    A queryset a selector already narrowed to this user (``core.restriction.restricted``) is taken as it is.
    Raises ``LookupError`` for a model without a rule: a bug, never an answer.
    """
    queryset = model._default_manager.all() if queryset is None else queryset
    rule = _rule(model)
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if restricted_to(queryset, user):
        return queryset
    return rule(user, queryset)


def reread(value, user):
    """A model object (or list of them) as ``user`` may see it: None (or left out) where they may not."""
    if isinstance(value, Model):
        return visible(type(value), user).filter(pk=value.pk).first()
    if isinstance(value, list | tuple) and value and all(isinstance(item, Model) for item in value):
        models = {type(item) for item in value}
        if len(models) != 1:
            raise TypeError("a payload list holds objects of one model")
        found = visible(models.pop(), user).in_bulk([item.pk for item in value])
        return [found[item.pk] for item in value if item.pk in found]
    return value


#: What ``data`` of a history entry names people by (hidden with the names).
PERSON_KEYS = frozenset({"assignee", "previous_assignee", "requested_by"})


def person_shown(viewer, person_id: int | None) -> bool:
    """Whether ``viewer`` may see who the person with ``person_id`` is (their name and username): themselves,
    or anyone for government staff.  Everyone else sees people as their roles.  The one rule for every field
    that names a person (``Person``, history actors, history data)."""
    if viewer is None or not viewer.is_authenticated:
        return False
    return person_id == viewer.pk or viewer.sees_names_of_others


class Restricted:
    """Base of a node type whose objects not everyone may see: the model's rule narrows every queryset."""

    @classmethod
    def get_queryset(cls, queryset, info, **kwargs):
        return visible(queryset.model, viewer(info).user, queryset)


class Public:
    """Base of a node type whose objects every signed-in user may see (reference data)."""


class Payload:
    """Base of every mutation payload: what it carries is re-read through the rules as the acting viewer.

    Mutations run as their viewer (``api.extensions.AuditMutation`` sets ``core.actor``); a payload built
    outside that shows no object at all.
    """

    def __post_init__(self) -> None:
        actor = current_actor()
        user = actor.user if actor is not None else None
        for item in dataclasses.fields(self):
            setattr(self, item.name, reread(getattr(self, item.name), user))  # other values pass unchanged
