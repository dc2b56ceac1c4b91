"""Write a YOLO dataset from the objects staff boxed on the photos of confirmed incidents."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from vision.training import training_data_export


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="the dataset folder (created; an earlier "
                                                                    "export in it is replaced)")
        parser.add_argument("--labels", default="", help="only these classes, comma-separated, e.g. garbage,bin "
                                                         "(default: every class boxed)")
        parser.add_argument("--val-fraction", type=float, default=0.2, help="share of photos kept for validation")
        parser.add_argument("--seed", type=int, default=0, help="changes which photos go to validation")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, out: Path, labels: str, val_fraction: float, seed: int, no_progress: bool, **options):
        wanted = [label.strip() for label in labels.split(",") if label.strip()] or None
        try:
            summary = training_data_export(out=out, labels=wanted, val_fraction=val_fraction, seed=seed,
                                           progress=False if no_progress else None)
        except ValueError as error:
            raise CommandError(str(error)) from None
        boxes = ", ".join(f"{name} {count}" for name, count in summary.boxes.items())
        self.stdout.write(f"{summary.images} images ({summary.train} train, {summary.val} val), boxes: {boxes}")
        if summary.missing:
            self.stdout.write(self.style.WARNING(f"{summary.missing} photos left out: their files are missing"))
        self.stdout.write(f"dataset: {summary.data_yaml}")
