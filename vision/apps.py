from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisionConfig(AppConfig):
    """Cameras, detector models and the six algorithms (built by the vision issue)."""

    name = "vision"
    verbose_name = _("Cameras and AI")
