from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisionConfig(AppConfig):
    """Cameras, detector models, the six algorithms, evidence and photo suggestions."""

    name = "vision"
    verbose_name = _("Cameras and AI")

    def ready(self) -> None:
        from celery.signals import worker_ready
        from django.conf import settings
        from django.core import checks

        from core.restriction import visibility_register, visible_through
        from gridapp.incidents.verification import site_check_register
        from vision.checks import detectors_check
        from vision.models import Camera, Situation
        from vision.selectors import cameras_visible_to
        from vision.verification import camera_site_check

        visibility_register(Camera, cameras_visible_to)  # by its catalogue entry
        visibility_register(Situation, visible_through(cameras_visible_to, via="camera"))  # its camera's
        site_check_register(camera_site_check)  # a camera's incident is verified once it shows the place clear
        checks.register(detectors_check, "vision")
        worker_ready.connect(_worker_warn, weak=False)  # a Celery worker runs no system checks
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


def _worker_warn(**kwargs) -> None:
    import logging

    from django.db import connection

    from vision.registry import detectors_warn

    try:
        detectors_warn(logging.getLogger("vision"))
    finally:
        connection.close()  # the worker's main process keeps no connection of its own
