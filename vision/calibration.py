"""How far photo suggestions may trust each detector class: thresholds measured on labelled pictures.

A detector's confidence means little by itself: the offline vehicle model says "bicycle" at 0.89 to an eagle and
to Van Gogh's Starry Night, and finds the one real bicycle of the set at 0.55.  ``calibrate_detectors`` runs
the installed models over pictures that ship with registry packages (``calibration_pictures.json``: what each
shows, counted by eye), prints per class and confidence the precision and recall of the objects and of the
suggestions the class makes, and chooses per class the lowest confidence at which no labelled picture gets a
suggestion it should not.  A class the model confuses above every confidence at which it finds the real ones
is switched off for suggestions (``None``).  The choice is committed as data (``thresholds.json``), keyed by
model version and checked against the weights' SHA-256, and read by ``vision.suggestions``; a model that was
never calibrated keeps ``suggestions.MIN_CONFIDENCE``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from vision.detections import Detection
from vision.models import DetectorModel

PICTURES_FILE = Path(__file__).with_name("calibration_pictures.json")
THRESHOLDS_FILE = Path(__file__).with_name("thresholds.json")
#: The confidences tried: from the workers' own floor (VISION_CONFIDENCE's default) up.
GRID = tuple(round(0.25 + 0.05 * step, 2) for step in range(15))
#: Detections are gathered down to this confidence once, then counted at each threshold of the grid.
FLOOR = 0.05


class CalibrationError(Exception):
    pass


@dataclass(frozen=True)
class LabelledPicture:
    name: str  # "debian darknet: /usr/share/darknet/data/eagle.jpg"
    path: Path
    objects: dict[str, int]  # OneGrid class -> how many are in the picture (absent: none)


def calibration_pictures() -> list[LabelledPicture]:
    """The labelled pictures, found where their packages put them and checked against their SHA-256; raises
    ``CalibrationError`` naming the package to install for a missing or different file."""
    found = []
    for entry in json.loads(PICTURES_FILE.read_text())["pictures"]:
        if entry["registry"] == "pypi":
            spec = importlib.util.find_spec(entry["package"])
            path = Path(spec.origin).parent / entry["path"] if spec and spec.origin else Path("/nonexistent")
        else:
            path = Path(entry["path"])
        name = f"{entry['registry']} {entry['package']}: {entry['path']}"
        if not path.is_file():
            raise CalibrationError(f"{name} is missing: install the {entry['registry']} package {entry['package']}")
        if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            raise CalibrationError(f"{name} is not the labelled picture (another version of {entry['package']}?)")
        found.append(LabelledPicture(name, path, dict(entry["objects"])))
    return found


@dataclass(frozen=True)
class Score:
    """One class at one threshold over the labelled pictures."""

    threshold: float
    tp: int  # objects: found up to the number in the picture
    fp: int  # objects: found beyond it
    fn: int  # objects: in the picture, not found
    suggested: int  # pictures the class suggests its category for
    wrong: tuple[str, ...]  # ... of which it should not (the pictures' names)
    due: int  # pictures that should get the suggestion

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def suggestion_precision(self) -> float | None:
        return (self.suggested - len(self.wrong)) / self.suggested if self.suggested else None

    @property
    def suggestion_recall(self) -> float | None:
        return (self.suggested - len(self.wrong)) / self.due if self.due else None


def class_scores(label: str, pictures: Sequence[LabelledPicture], seen: Sequence[Sequence[Detection]],
                 needed: int = 1) -> list[Score]:
    """``label`` at every threshold of ``GRID``: objects counted against the labels (a count per picture, no
    boxes: the labels have none), and the suggestion it makes where ``needed`` of them are seen (three people
    for a crowd)."""
    scores = []
    for threshold in GRID:
        tp = fp = fn = suggested = due = 0
        wrong = []
        for picture, detections in zip(pictures, seen, strict=True):
            found = sum(d.label == label and d.confidence >= threshold for d in detections)
            there = picture.objects.get(label, 0)
            tp, fp, fn = tp + min(found, there), fp + max(0, found - there), fn + max(0, there - found)
            due += there >= needed
            if found >= needed:
                suggested += 1
                if there < needed:
                    wrong.append(picture.name)
        scores.append(Score(threshold, tp, fp, fn, suggested, tuple(wrong), due))
    return scores


def threshold_choose(scores: Sequence[Score]) -> float | None:
    """The lowest threshold at which the class suggests nothing it should not on the labelled pictures, while
    it still makes some right suggestion; None when there is none (its confusion reaches above every real
    find, or no labelled picture shows it found)."""
    for score in scores:
        if not score.wrong:
            return score.threshold if score.suggested else None
    return None


def pictures_detect(model: DetectorModel, pictures: Sequence[LabelledPicture]) -> list[list[Detection]]:
    """What ``model`` sees in each picture down to ``FLOOR``."""
    from vision.detector import detector_for

    detector = detector_for(model)
    found = []
    for picture in pictures:
        with Image.open(picture.path) as image:
            [detections] = detector.detect([image.convert("RGB")], confidence=FLOOR)
        found.append(detections)
    return found


@functools.cache
def _thresholds() -> dict:
    return json.loads(THRESHOLDS_FILE.read_text()).get("models", {}) if THRESHOLDS_FILE.exists() else {}


def class_thresholds(model: DetectorModel, registrations: Iterable[DetectorModel] = ()) -> dict | None:
    """The calibrated thresholds of ``model``'s version (class -> confidence, or None: never suggested), or None
    when these weights were never calibrated.  ``registrations``: the version's other formats, any of which
    may carry the calibrated file's SHA-256."""
    entry = _thresholds().get(str(model))
    if entry is None or entry["sha256"] not in {model.sha256, *(other.sha256 for other in registrations)}:
        return None
    return entry["classes"]


def thresholds_write(chosen: dict[DetectorModel, dict[str, float | None]]) -> None:
    """Write the thresholds of each calibrated model (by version, with its weights' SHA-256)."""
    models = {str(model): {"sha256": model.sha256, "classes": classes} for model, classes in chosen.items()}
    THRESHOLDS_FILE.write_text(json.dumps({
        "about": "Chosen by `manage.py calibrate_detectors --write` on vision/calibration_pictures.json: per class the "
                 "lowest confidence at which no labelled picture gets a suggestion it should not; null: the class "
                 "suggests nothing.",
        "models": models}, indent=1, sort_keys=True) + "\n")
    _thresholds.cache_clear()
