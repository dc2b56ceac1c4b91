from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _parks_of(user) -> frozenset[int]:
    from parks.selectors import park_ids_staffed_by

    return park_ids_staffed_by(user)


class ParksConfig(AppConfig):
    """Business parks: gates, one-code access, visitors (and, next, parking, charging, lamp posts)."""

    name = "parks"
    verbose_name = _("Business parks")

    def ready(self) -> None:
        from core.audiences import audience_register
        from core.restriction import visibility_register, visible_through
        from parks import selectors
        from parks.models import Employee, Invitation, Passage

        # A park's passages and people reach its operator's staff; the district's roles do not oversee them.
        audience_register("park", members_of=_parks_of, overseen=False)
        visibility_register(Employee, visible_through(selectors.employees_visible_to))
        visibility_register(Invitation, visible_through(selectors.invitations_visible_to))
        visibility_register(Passage, visible_through(selectors.passages_visible_to))
