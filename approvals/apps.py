from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    """Licence kinds, electronic certificates, applications (built by the approvals issue)."""

    name = "approvals"
    verbose_name = _("Certificate-free services")
