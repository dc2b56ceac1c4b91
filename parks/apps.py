from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParksConfig(AppConfig):
    """Business parks: gates, one-code access, visitors, parking (built by the parks issue)."""

    name = "parks"
    verbose_name = _("Business parks")
