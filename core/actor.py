"""Who is acting right now, for records written far from the request (signals, services)."""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user: object | None
    client_ip: str | None = None
    user_agent: str = ""


_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("onegrid_actor", default=None)


@contextmanager
def acting_as(user, client_ip: str | None = None, user_agent: str = ""):
    token = _current.set(Actor(user if getattr(user, "is_authenticated", False) else None, client_ip, user_agent))
    try:
        yield
    finally:
        _current.reset(token)


def current_actor() -> Actor | None:
    return _current.get()


class ActorMiddleware:
    """Makes the admin's (session) user the actor of what a request changes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_as(getattr(request, "user", None), request.META.get("REMOTE_ADDR"),
                       request.META.get("HTTP_USER_AGENT", "")[:200]):
            return self.get_response(request)
