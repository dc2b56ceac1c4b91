"""Who may see which object: one rule per model, and every object that leaves the API passes it.

Each app registers the rule of its models where Django apps register things (``AppConfig.ready``, with
``core.restriction.visibility_register``): the selector that narrows a queryset to what a user may see.  The
rules (``RULES``) are applied in three places, which together cover every way an object leaves the API:

* ``Restricted``, the base of every model type that is a node: its ``get_queryset`` applies the model's rule
  to lists, connections, ``node(id:)`` and the relations the optimizer prefetches, so no node type writes a
  ``get_queryset`` of its own;
* ``OneGridField`` (``api/fields.py``): a to-one relation to a restricted type that the optimizer did not
  prefetch (an object a mutation returned) is read through the rule, never by a bare attribute.  The field
  trusts a related object already loaded on its instance, so a read path of the API must never
  ``select_related`` such a relation (``api.incidents.subscriptions._event_for`` says so where it matters);
* ``Payload``, the base of every mutation payload: each object (or list of objects) it is built with is
  re-read through the rule as the acting viewer, so a service's return value never leaves unfiltered.

A node type whose objects every signed-in user may see (categories, departments) says so by deriving from
``Public`` instead; ``api.fields.django_type`` refuses a node type that says neither.
``tests/api/test_restriction.py`` holds every node type and every payload to this.
"""

from __future__ import annotations

import dataclasses

from django.db.models import Model
from strawberry.types.base import get_object_definition

from api.context import viewer
from api.errors import MutationError, errors_from
from core.actor import current_actor
from core.restriction import VISIBILITY_RULES, visible

#: The rule of each model, as the apps registered them (``core.restriction.visibility_register``).
RULES = VISIBILITY_RULES


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

    @classmethod
    def error_type(cls) -> type[MutationError]:
        """The domain's error type that the payload's ``errors`` lists."""
        errors = get_object_definition(cls, strict=True).get_field("errors")
        error_type = getattr(errors.type if errors is not None else None, "of_type", None)
        if not (isinstance(error_type, type) and issubclass(error_type, MutationError)
                and error_type is not MutationError):
            raise TypeError(f"{cls.__name__}.errors must be a list of a domain's error type (api.errors)")
        return error_type

    @classmethod
    def failed(cls, error: Exception) -> Payload:
        """The payload of a call a service refused: ``error`` as its typed errors, nothing else.  A payload that
        tells more about a refusal (when to try again) says so by overriding this."""
        return cls(errors=errors_from(error, cls.error_type()))

    def __post_init__(self) -> None:
        actor = current_actor()
        user = actor.user if actor is not None else None
        for item in dataclasses.fields(self):
            setattr(self, item.name, reread(getattr(self, item.name), user))  # other values pass unchanged
