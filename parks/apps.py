from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _parks_of(user) -> frozenset[int]:
    from parks.selectors import park_ids_staffed_by

    return park_ids_staffed_by(user)


def _camera_parks(camera_id: int) -> list[str]:
    from core.audiences import scope
    from parks.models import Park

    return [scope("park", pk) for pk in Park.objects.filter(cameras=camera_id).values_list("pk", flat=True)]


class ParksConfig(AppConfig):
    """Business parks: gates, one-code access, visitors, EV charging, parking, lamp posts, the service board."""

    name = "parks"
    verbose_name = _("Business parks")

    def ready(self) -> None:
        from core.audiences import audience_register
        from core.files import FileKind, Images, Videos, file_kind_register
        from core.restriction import visibility_register, visible_through
        from parks import selectors
        from parks.models import (
            BarrierEvent,
            BoardPost,
            BoardResponse,
            Employee,
            Invitation,
            ParkingStay,
            Passage,
            PromoVideo,
            Vehicle,
        )
        from vision.situations import situation_audience_register

        # A park's passages and people reach its operator's staff; the district's roles do not oversee them.
        audience_register("park", members_of=_parks_of, overseen=False)
        # The security events of the cameras on a park's grounds reach its operator (their map and its feed).
        situation_audience_register(_camera_parks)
        visibility_register(Employee, visible_through(selectors.employees_visible_to))
        visibility_register(Invitation, visible_through(selectors.invitations_visible_to))
        visibility_register(Passage, visible_through(selectors.passages_visible_to))
        visibility_register(Vehicle, visible_through(selectors.vehicles_visible_to))
        visibility_register(BarrierEvent, visible_through(selectors.barrier_events_visible_to))
        visibility_register(ParkingStay, visible_through(selectors.stays_visible_to))
        visibility_register(PromoVideo, visible_through(selectors.promo_videos_visible_to))
        visibility_register(BoardPost, visible_through(selectors.board_posts_visible_to))
        visibility_register(BoardResponse, visible_through(selectors.board_responses_visible_to))
        file_kind_register(FileKind(name="promo_video", model="parks.PromoVideo", variants={"f": "file"},
                                    accepts=(Videos(),), folder="lamp-posts/videos"))
        # A barrier camera's snapshot: seen by whoever sees the barrier event (the operator, the controller).
        file_kind_register(FileKind(name="barrier_snapshot", model="parks.BarrierEvent",
                                    variants={"f": "snapshot", "t": "snapshot_thumbnail"}, accepts=(Images(),),
                                    folder="barriers"))
