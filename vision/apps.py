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
        from django.conf import settings

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
