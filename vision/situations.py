"""Who hears of a camera's situations opening and ending besides the grids' incidents: functions of a camera id that
return scope keys of registered audiences (a business park registers its operator for the cameras on its grounds,
``parks.apps``).  vision knows none of them; this module imports nothing heavy, so an app's ``ready`` may use it."""

from __future__ import annotations

from collections.abc import Callable

from core.feed import change_record

_audiences: list[Callable[[int], list[str]]] = []


def situation_audience_register(audience: Callable[[int], list[str]]) -> None:
    """Add ``audience`` (a camera id -> scope keys); call from an ``AppConfig.ready``.  Registering again is a no-op."""
    if audience not in _audiences:
        _audiences.append(audience)


def situation_told(situation, kind: str) -> None:
    """A situation opened or ended, on the feed for the registered audiences of its camera (inside the caller's
    transaction); nothing when no one registered."""
    to = [key for audience in _audiences for key in audience(situation.camera_id)]
    if to:
        change_record(kind=kind, obj=situation, to=to, facts={"algorithm": situation.rule.algorithm})
