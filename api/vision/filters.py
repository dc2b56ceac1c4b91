"""Narrowing the camera list."""

from __future__ import annotations

import strawberry
from strawberry import relay

from api.vision.types import AlgorithmEnum, CameraStatusEnum


@strawberry.input(description="Narrow the camera list; every field is optional.")
class CameraFilter:
    status: CameraStatusEnum | None = None
    grid_id: relay.GlobalID | None = None
    algorithm: AlgorithmEnum | None = None
    situation: bool | None = strawberry.field(default=None, description="Only cameras that see something now.")
