"""Audiences: to whom a change is addressed, as scope keys that apps register.

A change in the feed (``core.feed.change_record``) is addressed to scopes: ``grid:12``, ``department:3``,
``user:7``, and whatever the next apps need (a park's operators, an application's reviewers at one step, an
enterprise).  A user's scopes are the union of what every registered audience computes for them *now*, from
their current role and assignments, so a demoted user loses a scope at the next evaluation.

An app registers its audiences in ``AppConfig.ready`` (core imports no domain app)::

    audience_register("grid", members_of=grid_ids_watched_set)

``members_of(user)`` returns the ids of that kind the user belongs to (an empty set for most users; it is
called only for active, authenticated users).  ``overseen`` says whether the district-wide roles (the command
centre, auditors) see changes addressed to it: a grid's or a department's changes are, a person's own inbox
is not.

Three audiences are core's own: ``user`` (each person, not overseen), ``district`` (every user whom
``sees_whole_district`` says, the scope that every overseen change also gets) and ``access`` (a user's
control scope, which no feed shows: see ``access_scope``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: The scope that every change addressed to an overseen audience also carries; the district-wide roles hold it.
DISTRICT = "district"


@dataclass(frozen=True, slots=True)
class Audience:
    name: str
    members_of: Callable[[object], Iterable[int]]
    overseen: bool


_AUDIENCES: dict[str, Audience] = {}


def audience_register(name: str, *, members_of: Callable[[object], Iterable[int]], overseen: bool = True) -> None:
    """Register the audience ``name``: ``members_of(user)`` gives the ids of that kind the user belongs to now.

    Registering the same name again replaces it (Django may run ``ready`` twice in tests).  Raises
    ``ValueError`` for a name that cannot be a scope key's prefix.
    """
    if not name or not name.isidentifier() or name == DISTRICT:
        raise ValueError(f"not an audience name: {name!r}")
    _AUDIENCES[name] = Audience(name=name, members_of=members_of, overseen=overseen)


def audiences() -> dict[str, Audience]:
    return dict(_AUDIENCES)


def scope(name: str, pk: int | str) -> str:
    """The scope key of one member of an audience: ``scope("grid", 12) == "grid:12"``."""
    if name not in _AUDIENCES:
        raise LookupError(f"no audience {name!r} is registered (register it in the app's AppConfig.ready)")
    return f"{name}:{pk}"


def change_scopes(to: Iterable[str]) -> list[str]:
    """The scope keys a change addressed to ``to`` is stored under: ``to`` itself, plus ``district`` when any of
    them is overseen, or when the change is addressed to no one in particular (the command centre's)."""
    keys = sorted(set(to))
    overseen = not keys
    for key in keys:
        name, sep, pk = key.partition(":")
        audience = _AUDIENCES.get(name)
        if audience is None or not sep or not pk:
            raise LookupError(f"not a scope of a registered audience: {key!r}")
        overseen = overseen or audience.overseen
    if overseen:
        keys.append(DISTRICT)
    return keys


def user_scopes(user) -> frozenset[str]:
    """Every scope ``user`` holds now (empty for an anonymous or inactive user): the one rule behind the change
    feed, its subscriptions and their in-memory fan-out."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    keys = {scope("user", user.pk)}
    if user.sees_whole_district:
        keys.add(DISTRICT)
    for audience in _AUDIENCES.values():
        if audience.name == "user":
            continue
        keys.update(f"{audience.name}:{pk}" for pk in audience.members_of(user))
    return frozenset(keys)


def access_scope(user_pk: int) -> str:
    """A user's control scope: a change addressed to it (their access changed, a login revoked) appears in no
    feed; it makes that user's live subscriptions read the user again before they deliver anything more."""
    return f"access:{user_pk}"


audience_register("user", members_of=lambda user: (user.pk,), overseen=False)
audience_register("access", members_of=lambda user: (), overseen=False)
