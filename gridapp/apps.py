from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _grids_of(user) -> frozenset[int]:
    from gridapp.geography.selectors import grid_ids_watched_set

    return grid_ids_watched_set(user)


class GridappConfig(AppConfig):
    name = "gridapp"
    verbose_name = _("Grid governance")

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from core.audiences import audience_register
        from core.files import FileKind, Images, file_kind_register
        from core.restriction import visibility_register, visible_through
        from core.workflow import workflow_register
        from gridapp.campaigns.models import CampaignCase
        from gridapp.campaigns.selectors import case_photos_visible, cases_visible_to
        from gridapp.campaigns.services import CASE_WORKFLOW, event_closed_case_finish
        from gridapp.geography import selectors as geography
        from gridapp.geography.access import supervisors_changed
        from gridapp.geography.models import BaseRecord, Community, Grid, GridNotice, IndustryGrid, Street
        from gridapp.incidents import selectors as incidents
        from gridapp.incidents.closing import event_closed_register
        from gridapp.incidents.models import Event, EventPhoto
        from gridapp.incidents.photos import EVENT_PHOTOS
        from gridapp.incidents.services.transitions import INCIDENT_WORKFLOW
        from gridapp.sensors.models import Household
        from gridapp.sensors.selectors import households_visible_to

        # A grid's changes reach the workers who patrol it and the supervisors of its community.
        audience_register("grid", members_of=_grids_of)
        # Who sees which of the app's objects, wherever they leave the API.
        for model, selector in ((Street, geography.streets_visible_to), (Community, geography.communities_visible_to),
                                (Grid, geography.grids_visible_to), (IndustryGrid, geography.industry_grids_visible_to),
                                (BaseRecord, geography.records_visible_to)):
            visibility_register(model, visible_through(selector))
        visibility_register(GridNotice, visible_through(geography.grids_visible_to, via="grid"))  # the grid's
        visibility_register(Event, incidents.events_visible_to)
        visibility_register(EventPhoto, incidents.event_photos_visible_to)  # the event's
        for area in (Street, Community):  # a supervisor's grids changed: their subscriptions read them again
            m2m_changed.connect(supervisors_changed, sender=area.supervisors.through,
                                dispatch_uid=f"gridapp.supervisors_changed.{area.__name__}")
        workflow_register(INCIDENT_WORKFLOW)  # the incident lifecycle on the platform's workflow engine
        workflow_register(CASE_WORKFLOW)  # a campaign case's work, on the same engine
        event_closed_register(event_closed_case_finish)  # an incident's case finishes when the incident closes
        visibility_register(CampaignCase, visible_through(cases_visible_to))
        # a case's photos: seen by whoever sees the case
        file_kind_register(FileKind(name="campaign_photo", model="gridapp.CasePhoto",
                                    variants={"i": "image", "t": "thumbnail"}, accepts=(Images(),),
                                    folder="campaigns", visibility=case_photos_visible))
        # a watched household (personal data): its grid's workers, their supervisors, the command centre
        visibility_register(Household, visible_through(households_visible_to))
        file_kind_register(EVENT_PHOTOS)  # event photos on the file service, seen by the API's rule for them
