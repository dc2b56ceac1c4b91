from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _departments_of(user) -> tuple[int, ...]:
    """A department's changes reach its staff by role, not by a department column left on a demoted account."""
    return (user.department_id,) if user.is_department_staff else ()


def _people(user, people):
    """A person's account: themselves, and the district-wide roles."""
    return people if user.sees_whole_district else people.filter(pk=user.pk)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.db.models.signals import post_save, pre_save

        from accounts.access import access_announce, access_remember
        from accounts.models import User
        from core.audiences import audience_register
        from core.restriction import visibility_register

        audience_register("department", members_of=_departments_of)
        visibility_register(User, _people)
        pre_save.connect(access_remember, sender=User, dispatch_uid="accounts.access_remember")
        post_save.connect(access_announce, sender=User, dispatch_uid="accounts.access_announce")
