"""Who else acts when an incident closes: functions of ``(event, actor)`` another room registers in
``GridappConfig.ready`` (a campaign case raised from the incident finishes with it).  They run inside the closing
transaction: what they write commits or rolls back with the close."""

from __future__ import annotations

from collections.abc import Callable

_listeners: list[Callable] = []


def event_closed_register(listener: Callable) -> Callable:
    """Register ``listener(event, actor)`` (once)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def event_closed(event, actor) -> None:
    for listener in _listeners:
        listener(event, actor)
