"""Measure the installed detectors on the labelled pictures that ship with registry packages, print precision and
recall per class and confidence, and choose the thresholds of photo suggestions (``--write`` commits them to
vision/thresholds.json; ``--check`` fails when they differ from what is there)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from vision.calibration import (
    CalibrationError,
    calibration_pictures,
    class_scores,
    class_thresholds,
    pictures_detect,
    threshold_choose,
    thresholds_write,
)
from vision.detections import ObjectClass
from vision.registry import models_serving
from vision.suggestions import CROWD_MIN_PEOPLE, WANTED


def _ratio(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


class Command(BaseCommand):
    help = __doc__
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="write the chosen thresholds to vision/thresholds.json")
        parser.add_argument("--check", action="store_true", help="exit 1 when the chosen thresholds differ from the file")

    def handle(self, *args, write: bool = False, check: bool = False, **options):
        try:
            pictures = calibration_pictures()
        except CalibrationError as error:
            raise CommandError(str(error)) from None
        models = models_serving(WANTED)
        if not models:
            raise CommandError("No detector is installed: run `manage.py install_models` first.")
        self.stdout.write(f"{len(pictures)} labelled pictures; a suggestion from person needs {CROWD_MIN_PEOPLE} "
                          "(a crowd), from any other class one.")
        chosen, differ = {}, []
        for model in models:
            seen = pictures_detect(model, pictures)
            classes = {}
            for label in sorted(model.classes & WANTED):
                needed = CROWD_MIN_PEOPLE if label == ObjectClass.PERSON else 1
                scores = class_scores(label, pictures, seen, needed)
                classes[label] = threshold = threshold_choose(scores)
                self._table(model, label, scores, threshold, pictures, seen)
            chosen[model] = classes
            if class_thresholds(model) != classes:
                differ.append(str(model))
        self.stdout.write("\nChosen: " + "; ".join(
            f"{model}: " + ", ".join(f"{label} {'off' if value is None else value}" for label, value in classes.items())
            for model, classes in chosen.items()))
        if write:
            thresholds_write(chosen)
            self.stdout.write("written to vision/thresholds.json")
        elif check and differ:
            raise CommandError(f"vision/thresholds.json differs from this measurement for {', '.join(differ)}: "
                               "run with --write and commit it")

    def _table(self, model, label, scores, threshold, pictures, seen) -> None:
        confused = sorted(((d.confidence, picture.name.rsplit("/", 1)[-1])
                           for picture, found in zip(pictures, seen, strict=True)
                           for d in found if d.label == label and not picture.objects.get(label)), reverse=True)
        self.stdout.write(f"\n{model} {label}: chosen {'off (no suggestion)' if threshold is None else threshold}; "
                          f"seen where there is none: "
                          + (", ".join(f"{name} {confidence:.2f}" for confidence, name in confused[:4]) or "never"))
        self.stdout.write("  conf   objects: tp  fp  fn  prec  rec   suggestions: made wrong due  prec  rec")
        for score in scores:
            self.stdout.write(
                f"  {score.threshold:.2f}  {score.tp:12d} {score.fp:3d} {score.fn:3d} {_ratio(score.precision)} "
                f"{_ratio(score.recall)}  {score.suggested:17d} {len(score.wrong):5d} {score.due:3d} "
                f"{_ratio(score.suggestion_precision)} {_ratio(score.suggestion_recall)}")
