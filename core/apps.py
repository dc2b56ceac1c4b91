from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Change feed and audit")

    def ready(self) -> None:
        from core import permission_audit

        permission_audit.connect()
