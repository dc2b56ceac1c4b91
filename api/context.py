"""Who is asking, the same way over HTTP and over the websocket.

The HTTP view and the websocket consumer both leave ``user``, ``token``,
``client_ip``, ``user_agent`` and ``language`` on the request object they hand
to strawberry, so resolvers never care which transport they serve.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from django.conf import settings
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
    """The client's address, for throttling and the audit log.

    The peer's address, unless the peer is one of ``settings.TRUSTED_PROXIES`` (addresses or networks; none by
    default).  Then ``X-Forwarded-For`` is read from the right: each proxy appends the address it saw, so the
    right-most address that is not a trusted proxy is the client, and everything left of it may be forged.  A
    hop that is not an address ends the walk (the last trusted hop's view counts).
    """
    peer = _address(remote_addr)
    if peer is None or not forwarded_for or not _trusted(peer):
        return str(peer) if peer is not None else None
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            break
        client = address
        if not _trusted(address):
            break
    return str(client)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:4711
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.5:4711
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.ipv4_mapped or address if address.version == 6 else address


def _trusted(address) -> bool:
    return any(address in network for network in _trusted_networks(tuple(settings.TRUSTED_PROXIES)))


@functools.lru_cache(maxsize=8)
def _trusted_networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())
