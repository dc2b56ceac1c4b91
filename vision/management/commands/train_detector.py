"""Train a detector on a YOLO dataset (``export_training_data``), offline, and register it as the next version
of its name."""

from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from vision.training import detector_train


def _hyperparameter(text: str) -> tuple[str, object]:
    key, equals, value = text.partition("=")
    if not (key and equals):
        raise CommandError(f"--hyp takes KEY=VALUE, not {text!r}")
    return key.strip(), yaml.safe_load(value)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, required=True, help="the dataset's data.yaml")
        parser.add_argument("--name", required=True, help="the model's name (a slug); each run is its next version")
        parser.add_argument("--base", default="yolo11n.yaml",
                            help="a model YAML to train from scratch, or a .pt file to fine-tune")
        parser.add_argument("--epochs", type=int, default=50)
        parser.add_argument("--imgsz", type=int, default=640, help="the input size, in training and in service")
        parser.add_argument("--batch", type=int, default=16)
        parser.add_argument("--device", default=None, help="cpu, 0, cuda:0... (default: the inference device)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--hyp", action="append", default=[], metavar="KEY=VALUE",
                            help="an Ultralytics hyperparameter, e.g. --hyp lr0=0.003 --hyp mosaic=0 (repeatable)")

    def handle(self, *args, data: Path, name: str, base: str, epochs: int, imgsz: int, batch: int,
               device: str | None, seed: int, hyp: list[str], **options):
        hyperparameters = dict(_hyperparameter(text) for text in hyp)
        self.stdout.write(f"training {name} from {base} on {data}: {epochs} epochs at {imgsz} px...")
        try:
            model = detector_train(data_yaml=data, name=name, base=base, epochs=epochs, image_size=imgsz,
                                   batch=batch, device=device, seed=seed, hyperparameters=hyperparameters)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"registered: {model} ({', '.join(sorted(model.classes))}), file {model.path}, "
                          f"SHA-256 {model.sha256}")
