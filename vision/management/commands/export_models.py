"""Export the active .pt detector models to ONNX and OpenVINO (offline) and register them; each worker then
runs whichever format is fastest on its machine."""

from django.core.management.base import BaseCommand

from vision.backends import EXPORT_FORMATS, model_export
from vision.models import DetectorModel, ModelFormat


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--formats", default=",".join(EXPORT_FORMATS), help="comma-separated: onnx,openvino")

    def handle(self, *args, formats: str, **options):
        for model in DetectorModel.objects.filter(active=True, format=ModelFormat.TORCH):
            for format in [f for f in formats.split(",") if f]:
                exported = model_export(model, format)
                self.stdout.write(f"{exported.label}: {exported.path}")
