"""System checks of the cameras and AI: ``manage.py check``, ``runserver``, ``run_stack`` and ``migrate`` say so
at start when the detectors are not installed, instead of the AI being silently off."""

from __future__ import annotations

from django.core.checks import Warning
from django.db import DatabaseError

from vision.registry import DETECTORS_HINT, detectors_state


def detectors_check(app_configs=None, **kwargs) -> list[Warning]:
    """vision.W001: no detector is installed, or a registered one's file is missing on this machine."""
    try:
        state = detectors_state()
    except DatabaseError:  # not migrated yet, or no database: the database's own checks and errors say so
        return []
    if not state.off:
        return []
    return [Warning(f"The AI is off: {state}. Photo suggestions answer detectors_unavailable and camera rules "
                    "without a detector record nothing.", hint=DETECTORS_HINT, id="vision.W001")]
