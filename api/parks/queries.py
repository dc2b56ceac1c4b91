"""Parks for every signed-in user; the viewer's passes, invitations and passages; the operator's park: its people
now, its passages, its employees."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime

import strawberry
import strawberry_django
from django.conf import settings
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from strawberry import relay

from api.base.ids import node_pk_or_none
from api.context import viewer
from api.errors import GraphQLCodedError
from api.paging import CursorConnection
from api.parks.types import (
    BarrierEventType,
    BoardCategoryEnum,
    BoardKindEnum,
    BoardPostType,
    BuildingPresenceType,
    ChargerType,
    ChargingSessionType,
    EmployeeType,
    InvitationType,
    LampPostNowType,
    ParkingOccupancyType,
    ParkingStayType,
    ParkMapType,
    ParkPresenceType,
    ParkType,
    PassageResultEnum,
    PassageType,
    PassCredentialType,
    PlaylistSlotType,
    PromoVideoType,
    VehicleType,
    VideoStatusEnum,
)
from api.permissions import IsAuthenticated
from parks.board import board_search
from parks.lampposts import playlist_now
from parks.map import park_map, park_map_geojson
from parks.models import (
    BarrierEvent,
    BoardPost,
    Building,
    Charger,
    Connector,
    Employee,
    EmployeeStatus,
    Invitation,
    LampPost,
    Park,
    ParkingStay,
    Passage,
    PlaylistEntry,
    PlaylistSlot,
    PromoVideo,
)
from parks.selectors import (
    barrier_events_visible_to,
    barrier_queue,
    board_posts_visible_to,
    charging_sessions_of,
    credentials_of,
    employees_visible_to,
    invitations_visible_to,
    parking_areas_with_occupancy,
    parks_visible_to,
    passages_visible_to,
    presence_by_building,
    promo_videos_visible_to,
    staff_of,
    stays_visible_to,
    vehicles_of,
)


def credential_type(credential, *, private_key_pem: str | None = None) -> PassCredentialType:
    return PassCredentialType(
        park=credential.park.code, credential_id=credential.credential_id,
        token=base64.urlsafe_b64encode(bytes(credential.token)).rstrip(b"=").decode("ascii"),
        issued_at=credential.issued_at, expires_at=credential.expires_at, step_seconds=settings.PASS_STEP_SECONDS,
        private_key_pem=private_key_pem, revoked_at=credential.revoked_at, revoked_reason=credential.revoked_reason)


def visible_park(info: strawberry.Info, park_id: relay.GlobalID) -> Park:
    """The park ``park_id`` names, for any signed-in viewer; ``not_found`` otherwise."""
    park = parks_visible_to(viewer(info).user).filter(pk=node_pk_or_none(park_id, "Park")).first()
    if park is None:
        raise GraphQLCodedError(_("Park not found."), "not_found")
    return park


def operated_park(info: strawberry.Info, park_id: relay.GlobalID) -> Park:
    """The park ``park_id`` names if the viewer is its operator; ``not_found`` otherwise (the same answer, so that
    no one learns what they may not see)."""
    pk = node_pk_or_none(park_id, "Park")
    park = Park.objects.filter(pk=pk).first() if pk is not None else None
    user = viewer(info).user
    if park is None or (staff_of(user, park) is None and not user.is_superuser):
        raise GraphQLCodedError(_("Park not found."), "not_found")
    return park


@strawberry.type
class ParksQuery:
    @strawberry_django.connection(CursorConnection[ParkType], permission_classes=[IsAuthenticated],
                                  description="The district's business parks, their buildings, gates and enterprises.")
    def parks(self, info: strawberry.Info) -> Iterable[Park]:
        return parks_visible_to(viewer(info).user).order_by("code")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The viewer's pass credentials (one per park they work in), newest first: the "
                                  "app shows whether its phone is provisioned and until when.")
    def my_passes(self, info: strawberry.Info) -> list[PassCredentialType]:
        rows = credentials_of(viewer(info).user).select_related("park").order_by("-issued_at")[:20]
        return [credential_type(row) for row in rows]

    @strawberry_django.connection(CursorConnection[InvitationType], permission_classes=[IsAuthenticated],
                                  description="Visitors the viewer invited, latest visit first.")
    def my_invitations(self, info: strawberry.Info) -> Iterable[Invitation]:
        return invitations_visible_to(viewer(info).user).filter(host__user=viewer(info).user).order_by(
            "-valid_from", "-id")

    @strawberry_django.connection(CursorConnection[PassageType], permission_classes=[IsAuthenticated],
                                  description="Passages the viewer may see, latest first: their own and their "
                                              "visitors'; a whole park for its operator (parkId).")
    def passages(self, info: strawberry.Info, park_id: relay.GlobalID | None = None,
                 result: PassageResultEnum | None = None, since: datetime | None = None) -> Iterable[Passage]:
        passages = passages_visible_to(viewer(info).user)
        if park_id is not None:
            passages = passages.filter(park_id=node_pk_or_none(park_id, "Park"))
        if result is not None:
            passages = passages.filter(result=result.value)
        if since is not None:
            passages = passages.filter(at__gte=since)
        return passages.order_by("-at", "-id")

    @strawberry_django.connection(CursorConnection[EmployeeType], permission_classes=[IsAuthenticated],
                                  description="The park's employees, for its operator.")
    def park_employees(self, info: strawberry.Info, park_id: relay.GlobalID) -> Iterable[Employee]:
        park = operated_park(info, park_id)
        return employees_visible_to(viewer(info).user).filter(enterprise__park=park).order_by("enterprise", "id")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The park's chargers and their connectors, for its operator.")
    def park_chargers(self, info: strawberry.Info, park_id: relay.GlobalID) -> list[ChargerType]:
        park = operated_park(info, park_id)
        chargers = (Charger.objects.filter(park=park).select_related("building")
                    .prefetch_related(Prefetch("connectors", Connector.objects.order_by("number"))).order_by("identity"))
        return [ChargerType.of(charger) for charger in chargers[:500]]

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The viewer's EV charges, newest first (the latest 50).")
    def my_charging_sessions(self, info: strawberry.Info) -> list[ChargingSessionType]:
        rows = charging_sessions_of(viewer(info).user).select_related("charger")[:50]
        return [ChargingSessionType.of(row) for row in rows]

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="People in the park now, by building, from their latest passages: for its operator.")
    def park_presence(self, info: strawberry.Info, park_id: relay.GlobalID) -> ParkPresenceType:
        park = operated_park(info, park_id)
        counts = presence_by_building(park=park)
        buildings = Building.objects.in_bulk([pk for pk, _count in counts if pk is not None])
        return ParkPresenceType(total=sum(count for _pk, count in counts), buildings=[
            BuildingPresenceType(building=buildings.get(pk) if pk is not None else None, people=count)
            for pk, count in counts])

    # --- parking ---

    @strawberry_django.field(permission_classes=[IsAuthenticated],
                             description="The viewer's registered vehicles (as an employee).")
    def my_vehicles(self, info: strawberry.Info) -> list[VehicleType]:
        return vehicles_of(viewer(info).user).order_by("plate")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="A park's car parks now: spaces, vehicles inside, free spaces, overstays.")
    def parking_occupancy(self, info: strawberry.Info, park_id: relay.GlobalID) -> list[ParkingOccupancyType]:
        park = visible_park(info, park_id)
        areas = parking_areas_with_occupancy([park.pk]).select_related("building")[:200]
        return [ParkingOccupancyType.of(area) for area in areas]

    @strawberry_django.connection(CursorConnection[BarrierEventType], permission_classes=[IsAuthenticated],
                                  description="The operator's queue: vehicles at the park's barriers whose plate the "
                                              "reader could not read (or has not read within 30 s), oldest first.")
    def barrier_queue(self, info: strawberry.Info, park_id: relay.GlobalID) -> Iterable[BarrierEvent]:
        return barrier_queue(park=operated_park(info, park_id))

    @strawberry_django.connection(CursorConnection[BarrierEventType], permission_classes=[IsAuthenticated],
                                  description="Vehicles at the park's barriers, latest first: for its operator.")
    def barrier_events(self, info: strawberry.Info, park_id: relay.GlobalID,
                       since: datetime | None = None) -> Iterable[BarrierEvent]:
        park = operated_park(info, park_id)
        events = barrier_events_visible_to(viewer(info).user).filter(park=park)
        if since is not None:
            events = events.filter(at__gte=since)
        return events.order_by("-at", "-id")

    @strawberry_django.connection(CursorConnection[ParkingStayType], permission_classes=[IsAuthenticated],
                                  description="Stays in the park's car parks, latest entry first: for its operator; "
                                              "inside: only the vehicles inside now; overstayed: only those flagged.")
    def parking_stays(self, info: strawberry.Info, park_id: relay.GlobalID, inside: bool = False,
                      overstayed: bool = False) -> Iterable[ParkingStay]:
        park = operated_park(info, park_id)
        stays = stays_visible_to(viewer(info).user).filter(park=park)
        if inside:
            stays = stays.filter(exited_at__isnull=True)
        if overstayed:
            stays = stays.filter(overstay_at__isnull=False)
        return stays.order_by("-entered_at", "-id")

    # --- lamp posts ---

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="A park's lamp posts and what each plays now.")
    def lamp_posts(self, info: strawberry.Info, park_id: relay.GlobalID) -> list[LampPostNowType]:
        posts = list(LampPost.objects.filter(park=visible_park(info, park_id)).select_related("building")[:500])
        playlists = playlist_now(posts=posts)
        return [LampPostNowType.of(post, playlists[post.pk]) for post in posts]

    @strawberry_django.connection(CursorConnection[PromoVideoType], permission_classes=[IsAuthenticated],
                                  description="A park's promotional videos, newest first: all of them for its "
                                              "operator, their enterprise's for an employee.")
    def promo_videos(self, info: strawberry.Info, park_id: relay.GlobalID,
                     status: VideoStatusEnum | None = None) -> Iterable[PromoVideo]:
        videos = promo_videos_visible_to(viewer(info).user).filter(park=visible_park(info, park_id))
        if status is not None:
            videos = videos.filter(status=status.value)
        return videos.order_by("-submitted_at", "-id")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The park's playlist schedule, for its operator.")
    def playlist_slots(self, info: strawberry.Info, park_id: relay.GlobalID) -> list[PlaylistSlotType]:
        slots = (PlaylistSlot.objects.filter(park=operated_park(info, park_id)).prefetch_related(
            "posts", Prefetch("entries", PlaylistEntry.objects.select_related("video").order_by("position")))
                 .order_by("starts", "id"))
        return [PlaylistSlotType.of(slot) for slot in slots[:200]]

    # --- the operator's map ---

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The operator's one map of the park: people by building, parking occupancy, "
                                  "chargers, open security events, enterprises and their headcount, lamp posts; "
                                  "also as GeoJSON and as a picture.  parkMapChanged says when to ask again.")
    def park_map(self, info: strawberry.Info, park_id: relay.GlobalID) -> ParkMapType:
        park = operated_park(info, park_id)
        found = park_map(park=park)
        return ParkMapType.of(found, geojson=park_map_geojson(found),
                              picture_url=f"/exports/park-map.png?park={relay.to_base64('Park', park.pk)}")

    # --- the enterprise-service board ---

    @strawberry_django.connection(CursorConnection[BoardPostType], permission_classes=[IsAuthenticated],
                                  description="A park's service board, newest first: its published offers and needs "
                                              "(and the viewer's enterprise's closed or hidden ones; all for the "
                                              "operator); search: any part of the title or text, Chinese or not.")
    def board_posts(self, info: strawberry.Info, park_id: relay.GlobalID, search: str | None = None,
                    kind: BoardKindEnum | None = None, category: BoardCategoryEnum | None = None,
                    mine: bool = False) -> Iterable[BoardPost]:
        user = viewer(info).user
        posts = board_posts_visible_to(user).filter(park=visible_park(info, park_id))
        if kind is not None:
            posts = posts.filter(kind=kind.value)
        if category is not None:
            posts = posts.filter(category=category.value)
        if mine:
            posts = posts.filter(enterprise__in=Employee.objects.filter(user=user, status=EmployeeStatus.ACTIVE)
                                 .values("enterprise_id"))
        if search and search.strip():
            posts = board_search(posts, search[:100])
        return posts.order_by("-created_at", "-id")
