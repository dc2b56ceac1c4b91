"""Who may see which rows: one rule per model, registered by the app that owns the model.

``core`` knows no domain app.  An app registers, in its ``AppConfig.ready``, the rule of each model whose rows
not every user may see: a selector ``(user, queryset) -> queryset`` that narrows a queryset of the model to
the rows the user may see, or, for a selector of the usual shape ``(user) -> queryset``, the rule built from
it by ``visible_through``::

    visibility_register(Camera, cameras_visible_to)
    visibility_register(Grid, visible_through(grids_visible_to))
    visibility_register(GridNotice, visible_through(grids_visible_to, via="grid"))

``visible`` applies the model's rule: the API to everything it hands out (``api/restrict``: every node type,
to-one relation and mutation payload), the file service to the files of a kind without a rule of its own.

A selector may mark what it returns as narrowed to one user (``restricted``); ``visible`` then takes it as it is
instead of applying the rule again.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from django.db.models import Model, QuerySet

#: Narrows a queryset of a model to the rows a (signed-in, active) user may see.
Rule = Callable[[Any, QuerySet], QuerySet]

_RULES: dict[type[Model], Rule] = {}
#: Every registered rule, by model (read-only).
VISIBILITY_RULES = MappingProxyType(_RULES)


def visibility_register(model: type[Model], rule: Rule) -> None:
    """Register ``rule`` as what narrows every queryset of ``model`` that leaves the API.

    Registering a model again replaces its rule (Django may run ``ready`` twice in tests).
    """
    _RULES[model] = rule


def visibility_unregister(model: type[Model]) -> None:
    """Forget ``model``'s rule (tests register rules of their own)."""
    _RULES.pop(model, None)


def visible_through(selector: Callable[[Any], QuerySet], *, via: str = "pk") -> Rule:
    """The rule of the rows whose ``via`` (their key, or a relation) is among what ``selector(user)`` returns: a
    selector of the model itself, or of the model ``via`` points to."""
    lookup = f"{via}__in"

    def rule(user, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{lookup: selector(user).values("pk")})

    return rule


def visible(model: type[Model], user, queryset: QuerySet | None = None) -> QuerySet:
    """``queryset`` (default: every ``model``) narrowed to what ``user`` may see; nothing for no user, an anonymous
    or an inactive one.

    A queryset a selector already narrowed to this user (``restricted``) is taken as it is.  Raises
    ``LookupError`` for a model without a rule: a bug, never an answer.
    """
    queryset = model._default_manager.all() if queryset is None else queryset
    try:
        rule = _RULES[model]
    except KeyError:
        raise LookupError(f"no visibility rule for {model._meta.label}: register one in its app's "
                          f"AppConfig.ready (core.restriction.visibility_register)") from None
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if restricted_to(queryset, user):
        return queryset
    return rule(user, queryset)


def restricted(queryset: QuerySet, user) -> QuerySet:
    """Mark ``queryset`` as narrowed to what ``user`` may see of its model (by that model's visibility
    selector: ``gridapp.incidents.selectors.event_tasks_of``, ``vision.selectors.cameras_visible_to``).  The
    mark survives filtering, ordering and slicing, and lets ``visible`` skip the rule (a node type's
    ``get_queryset`` applying it again), a cost the mobile home screen shows (`bench/api.py --only home`).  Only a
    subset of what the selector returns may be marked, and only narrowing may follow: ``|`` with a wider
    queryset would keep the mark."""
    queryset._hints = {**queryset._hints, "onegrid_restricted_for": user.pk}
    return queryset


def restricted_to(queryset: QuerySet, user) -> bool:
    """Whether ``queryset`` was narrowed to what ``user`` may see with ``restricted`` (never for an anonymous
    user, whose missing id must not match a missing mark)."""
    return user.pk is not None and queryset._hints.get("onegrid_restricted_for") == user.pk
