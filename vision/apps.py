from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisionConfig(AppConfig):
    """Cameras, detector models and the six algorithms (built by the vision issue)."""

    name = "vision"
    verbose_name = _("Cameras and AI")

    def ready(self) -> None:
        from gridapp.verification import site_check_register
        from vision.verification import camera_site_check

        site_check_register(camera_site_check)
