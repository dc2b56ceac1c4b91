"""Site checks before a resolution is verified.

An app that watches a place can hold the verification of a resolved event back until the place shows the
result: the cameras register a check that refuses while the camera still sees the problem, or has not yet
seen the place clear for long enough.  The grid knows nothing of cameras; it asks every registered check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gridapp.incidents.models import Event

#: A check gets the (locked) event and the moment of verification; it returns why the site does not confirm
#: the result yet, or None.
SiteCheck = Callable[[Event, datetime], str | None]

_checks: list[SiteCheck] = []


def site_check_register(check: SiteCheck) -> SiteCheck:
    """Register ``check`` (once; usable as a decorator).  Call from an ``AppConfig.ready``."""
    if check not in _checks:
        _checks.append(check)
    return check


def site_check_refusal(event: Event, now: datetime) -> str | None:
    """The first registered check's reason to refuse verifying ``event`` now, or None."""
    for check in _checks:
        if (reason := check(event, now)) is not None:
            return reason
    return None
