from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _own_notifications(user, notifications):
    """An inbox is its recipient's alone, whoever else may see the district."""
    return notifications.filter(recipient_id=user.pk)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Change feed and audit")

    def ready(self) -> None:
        from core import permission_audit
        from core.models import AuditEntry, Notification
        from core.restriction import visibility_register, visible_through
        from core.selectors import audit_entries_for

        permission_audit.connect()
        visibility_register(Notification, _own_notifications)
        visibility_register(AuditEntry, visible_through(audit_entries_for))
