"""Who is asking, the same way over HTTP and over the websocket.

The HTTP view and the websocket consumer both leave ``user``, ``token``,
``client_ip``, ``user_agent`` and ``language`` on the request object they hand
to strawberry, so resolvers never care which transport they serve.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser


@dataclass
class Viewer:
    user: object
    token: object | None
    client_ip: str | None
    user_agent: str
    language: str


ANONYMOUS = Viewer(user=AnonymousUser(), token=None, client_ip=None, user_agent="", language="zh-hans")


def viewer(info) -> Viewer:
    return viewer_from_context(info.context)


def viewer_from_context(context) -> Viewer:
    request = context.get("request") if isinstance(context, dict) else getattr(context, "request", None)
    return getattr(request, "onegrid_viewer", ANONYMOUS)


def viewer_user(info):
    return viewer(info).user


def client_ip_from_scope_or_meta(*, forwarded_for: str | None, remote_addr: str | None) -> str | None:
    """The client address; ``X-Forwarded-For`` is trusted only from a local proxy."""
    if forwarded_for and remote_addr in {"127.0.0.1", "::1"}:
        return forwarded_for.split(",")[0].strip() or remote_addr
    return remote_addr
