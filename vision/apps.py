from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisionConfig(AppConfig):
    """Cameras, detector models, the six algorithms, evidence and photo suggestions."""

    name = "vision"
    verbose_name = _("Cameras and AI")

    def ready(self) -> None:
        from django.conf import settings

        from gridapp.verification import site_check_register
        from vision.verification import camera_site_check

        site_check_register(camera_site_check)  # a camera's incident is verified once it shows the place clear
        if settings.VISION_PRELOAD:
            import threading

            threading.Thread(target=_preload, name="vision-preload", daemon=True).start()


def _preload() -> None:
    from django.db import connections

    from vision.detector import detectors_preload

    try:
        detectors_preload()
    finally:
        connections.close_all()  # this thread's connections
