from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridappConfig(AppConfig):
    name = "gridapp"
    verbose_name = _("Grid governance")
