"""Reads of the cameras, restricted to what a viewer may see."""

from __future__ import annotations

from django.db.models import QuerySet

from gridapp.selectors import records_visible_to
from vision.models import Camera


def cameras_visible_to(user) -> QuerySet[Camera]:
    """The cameras whose catalogue entry the user may see: the command centre all, department staff those in
    their department's area, a grid worker those in their grids, others none."""
    return Camera.objects.filter(record_id__in=records_visible_to(user).values("pk"))
