"""Demo cameras: catalogued cameras of the demo district that replay real footage (Debian's vtest.avi, the
photos Ultralytics ships), each watched by the algorithms its scene can show."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from django.db import transaction

from gridapp.geography.models import BaseRecord, RecordKind
from vision.models import Camera, CameraRule, SourceKind
from vision.rules import Algorithm

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")

LOWER_HALF = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]


def _assets() -> Path:
    """Ultralytics' sample pictures, found without importing it (its import sets the process's threads)."""
    return Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"


def demo_scenes() -> list[tuple[SourceKind, Path, list[tuple[str, list, dict]]]]:
    """(source kind, file, [(algorithm, zone, params)]) per demo camera whose file is on this machine."""
    scenes = [
        (SourceKind.VIDEO, VTEST, [
            (Algorithm.PEOPLE_FLOW, [], {"interval_seconds": 300, "threshold": 12}),
            (Algorithm.CROWD, [], {"min_people": 8, "min_seconds": 60, "clear_seconds": 60}),
            (Algorithm.ILLEGAL_PARKING, LOWER_HALF, {"min_seconds": 600})]),
        (SourceKind.FILE, _assets() / "bus.jpg", [
            (Algorithm.CROWD, [], {"min_people": 3, "min_seconds": 120}),
            (Algorithm.ILLEGAL_PARKING, LOWER_HALF, {"min_seconds": 300})]),
        (SourceKind.FILE, _assets() / "zidane.jpg", [(Algorithm.CROWD, [], {"min_people": 5})]),
    ]
    return [scene for scene in scenes if scene[1].exists()]


@transaction.atomic
def demo_cameras_create(interval_seconds: int = 60) -> int:
    """Give the first catalogued cameras a demo source and rules (idempotent); returns how many exist."""
    scenes = demo_scenes()
    records = list(BaseRecord.objects.filter(kind=RecordKind.CAMERA).order_by("id")[:len(scenes)])
    for record, (kind, path, rules) in zip(records, scenes, strict=False):
        camera, created = Camera.objects.get_or_create(
            record=record, defaults={"source_kind": kind, "source": str(path), "interval_seconds": interval_seconds})
        if created:
            CameraRule.objects.bulk_create(CameraRule(camera=camera, algorithm=algorithm, zone=zone, params=params)
                                           for algorithm, zone, params in rules)
    return Camera.objects.count()
