"""Parks, their buildings, gates and enterprises (the same for every signed-in user); employees, invitations and
passages (personal: the person, a visitor's host, the park's operator)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from django.db.models import Count
from strawberry import relay
from strawberry.scalars import JSON

from api.fields import django_type, field
from api.nodes import MODEL_ID
from api.restrict import Public, Restricted
from core.files import file_link_sign
from parks.map import charger_state
from parks.models import (
    BarrierEvent,
    BarrierState,
    BoardCategory,
    BoardKind,
    BoardPost,
    BoardResponse,
    BoardStatus,
    Building,
    Direction,
    Employee,
    EmployeeStatus,
    Enterprise,
    Gate,
    GateKind,
    Invitation,
    LampPost,
    Park,
    ParkingArea,
    ParkingStay,
    Passage,
    PassageMode,
    PassageResult,
    PromoVideo,
    SubjectKind,
    Vehicle,
    VideoStatus,
)

GateKindEnum = strawberry.enum(GateKind, name="GateKind")
EmployeeStatusEnum = strawberry.enum(EmployeeStatus, name="EmployeeStatus")
DirectionEnum = strawberry.enum(Direction, name="Direction")
PassageResultEnum = strawberry.enum(PassageResult, name="PassageResult")
PassageModeEnum = strawberry.enum(PassageMode, name="PassageMode")
SubjectKindEnum = strawberry.enum(SubjectKind, name="PassSubjectKind")
BarrierStateEnum = strawberry.enum(BarrierState, name="BarrierState")
VideoStatusEnum = strawberry.enum(VideoStatus, name="PromoVideoStatus")
BoardKindEnum = strawberry.enum(BoardKind, name="BoardKind")
BoardCategoryEnum = strawberry.enum(BoardCategory, name="BoardCategory")
BoardStatusEnum = strawberry.enum(BoardStatus, name="BoardStatus")


@django_type(Building, name="Building", description="A building of a park.")
class BuildingType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    name_en: str
    longitude: float | None
    latitude: float | None


@django_type(Gate, name="Gate", description="A door, turnstile, canteen reader or barrier with a code scanner.")
class GateType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    name_en: str
    kind: GateKindEnum
    building: BuildingType | None
    windows: JSON = field(description="Opening hours for employees and visitors: [{days, from, to}]; empty: always.")
    active: bool
    last_seen_at: datetime | None = field(description="When an offline gate last synced or uploaded.")


@django_type(Enterprise, name="Enterprise", description="An enterprise of a park.")
class EnterpriseType(Public, relay.Node):
    _id_attr = MODEL_ID
    name: str
    name_en: str
    buildings: list[BuildingType]


@django_type(Park, name="Park", description="A business park.")
class ParkType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    name_en: str
    buildings: list[BuildingType]
    gates: list[GateType]
    enterprises: list[EnterpriseType]


@django_type(Employee, name="Employee", description="A person working for an enterprise of a park: seen by "
                                                        "themself and the park's operator.")
class EmployeeType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    enterprise: EnterpriseType
    building: BuildingType | None
    status: EmployeeStatusEnum
    status_reason: str
    joined_at: datetime

    @field(select_related=["user"], only=["user__display_name", "user__username"])
    def name(self, root: Employee) -> str:
        return str(root.user)


@django_type(Invitation, name="Invitation", description="An employee's visitor: seen by the host and the park's "
                                                            "operator.")
class InvitationType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    visitor_name: str
    visitor_phone: str
    purpose: str
    valid_from: datetime
    valid_until: datetime
    withdrawn_at: datetime | None
    buildings: list[BuildingType]
    gates: list[GateType]
    host: EmployeeType | None


@django_type(Passage, name="Passage", description="A pass or a refusal at a gate, with its reason: seen by the "
                                                      "person, a visitor's host, and the park's operator.")
class PassageType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    gate: GateType
    direction: DirectionEnum
    at: datetime
    result: PassageResultEnum
    reason: str = field(description="ok, or why not: malformed, wrong_prefix, unknown_key, bad_credential, "
                                    "wrong_park, expired, revoked, bad_signature, stale, future, not_here, not_yet, "
                                    "closed, replayed, blocked, left, withdrawn, unknown_credential.")
    drift: int = field(description="Steps between the code and the gate's clock (one either way is tolerated).")
    mode: PassageModeEnum
    subject_kind: SubjectKindEnum | None
    employee: EmployeeType | None
    invitation: InvitationType | None

    person: str = field(description="Who passed, as the log named them then (empty for an unreadable code).")


@strawberry.type(name="PassCredential", description="What a phone shows inside every code: provisioned once, "
                                                      "rotated by provisioning again.")
class PassCredentialType:
    park: str = strawberry.field(description="The park's code.")
    credential_id: str
    token: str = strawberry.field(description="The park-signed CWT (base64url): the phone puts it in every code's "
                                              "protected header (kcwt) and signs the step with its key.")
    issued_at: datetime
    expires_at: datetime
    step_seconds: int
    private_key_pem: str | None = strawberry.field(
        description="Only when the server made the device key (no publicKey given): shown this once, never kept.")
    revoked_at: datetime | None = None
    revoked_reason: str = ""


@strawberry.type(name="BuildingPresence")
class BuildingPresenceType:
    building: BuildingType | None = strawberry.field(description="Null: on the park's grounds, in no building.")
    people: int


@strawberry.type(name="ParkPresence", description="People in the park now, from their latest passages.")
class ParkPresenceType:
    total: int
    buildings: list[BuildingPresenceType]


@strawberry.type(name="ChargingSession", description="An EV charge (an OCPP transaction): energy from the charger's "
                                                      "meter, cost at the charger's tariff.")
class ChargingSessionType:
    transaction_id: int
    charger: str
    connector: int
    status: str = strawberry.field(description="active, completed, or aborted (closed by OneGrid: the charger went "
                                               "silent, or started another transaction on the connector).")
    started_at: datetime
    stopped_at: datetime | None
    energy_kwh: float
    cost: str | None = strawberry.field(description="Yuan, when the charger has a tariff.")
    stop_reason: str

    @classmethod
    def of(cls, session) -> ChargingSessionType:
        return cls(transaction_id=session.pk, charger=session.charger.name, connector=session.connector,
                   status=session.status, started_at=session.started_at, stopped_at=session.stopped_at,
                   energy_kwh=session.energy_wh / 1000, cost=str(session.cost) if session.cost is not None else None,
                   stop_reason=session.stop_reason)


@strawberry.type(name="ChargerConnector")
class ChargerConnectorType:
    number: int
    status: str = strawberry.field(description="OCPP's ChargePointStatus: Available, Charging, Faulted, ...")
    error_code: str
    updated_at: datetime


@strawberry.type(name="Charger", description="A charge point of a park, as its last messages said.")
class ChargerType:
    identity: str
    name: str
    building: str | None
    connected: bool
    last_seen_at: datetime | None
    vendor: str
    model: str
    tariff_per_kwh: str | None
    connectors: list[ChargerConnectorType]
    state: str = strawberry.field(description="For the map: offline, faulty (a connector Faulted), busy (charging "
                                              "or preparing), or free.")

    @classmethod
    def of(cls, charger) -> ChargerType:
        connectors = [ChargerConnectorType(number=c.number, status=c.status, error_code=c.error_code,
                                           updated_at=c.updated_at) for c in charger.connectors.all()]
        return cls(identity=charger.identity, name=charger.name,
                   building=charger.building.code if charger.building_id else None, connected=charger.connected,
                   last_seen_at=charger.last_seen_at, vendor=charger.vendor, model=charger.model,
                   tariff_per_kwh=str(charger.tariff_per_kwh) if charger.tariff_per_kwh is not None else None,
                   connectors=connectors, state=charger_state(charger))


# --- parking -------------------------------------------------------------------------------------------------------

@django_type(ParkingArea, name="ParkingArea", description="A car park of a park, behind barriers.")
class ParkingAreaType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    name_en: str
    building: BuildingType | None
    longitude: float | None
    latitude: float | None
    max_stay_hours: int


@strawberry.type(name="ParkingOccupancy", description="A car park now: its spaces, the vehicles inside, and those "
                                                        "inside longer than allowed.")
class ParkingOccupancyType:
    area: ParkingAreaType
    capacity: int
    occupied: int
    free: int
    overstays: int

    @classmethod
    def of(cls, area) -> ParkingOccupancyType:
        return cls(area=area, capacity=area.capacity, occupied=area.occupied,
                   free=max(0, area.capacity - area.occupied), overstays=area.overstays)


@django_type(Vehicle, name="Vehicle", description="An employee's registered vehicle: seen by the employee and the "
                                                      "park's operator.")
class VehicleType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    plate: str
    registered_at: datetime
    employee: EmployeeType | None


@django_type(BarrierEvent, name="BarrierEvent", description="A vehicle at a parking barrier: the snapshot, the plate "
                                                                "read from it, the decision.  Seen by the park's "
                                                                "operator and the barrier controller that reported it.")
class BarrierEventType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    gate: GateType
    area: ParkingAreaType
    direction: DirectionEnum
    at: datetime
    state: BarrierStateEnum
    plate: str = field(description="The plate decided on (read by the reader or the operator); empty until then.")
    confidence: float | None = field(description="The reader's confidence in its best reading (0..1).")
    readings: JSON = field(description="What the reader saw, best first: [{text, confidence, box: [x0, y0, x1, y1] "
                                       "normalised}].")
    queue_reason: str = field(description="Why it waits for the operator: unsure, no_plate, invalid_plate, "
                                          "no_reader.")
    reason: str = field(description="registered, visitor, exit, no_entry_recorded (passed); unknown_plate, "
                                    "employee_not_working, invitation_not_now, area_full (refused); operator_opened, "
                                    "operator_refused, dismissed (the operator's).")
    decided_at: datetime | None
    invitation: InvitationType | None
    vehicle: VehicleType | None

    @field(only=["result"], description="Null until decided.")
    def result(self, root: BarrierEvent) -> PassageResultEnum | None:
        return PassageResult(root.result) if root.result else None

    @field(only=["id"], description="Signed link to the barrier camera's snapshot (JPEG); it expires.")
    def snapshot_url(self, root: BarrierEvent) -> str:
        return file_link_sign(kind="barrier_snapshot", pk=root.pk, variant="f")

    @field(only=["id"], description="Signed link to the snapshot's thumbnail; it expires.")
    def thumbnail_url(self, root: BarrierEvent) -> str:
        return file_link_sign(kind="barrier_snapshot", pk=root.pk, variant="t")


@django_type(ParkingStay, name="ParkingStay", description="A vehicle in a car park, from entry to exit: seen by the "
                                                              "park's operator.")
class ParkingStayType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    area: ParkingAreaType
    plate: str
    entered_at: datetime
    exited_at: datetime | None
    overstay_at: datetime | None = field(description="When it was flagged as staying too long.")
    vehicle: VehicleType | None
    invitation: InvitationType | None


# --- lamp posts ----------------------------------------------------------------------------------------------------

@django_type(LampPost, name="LampPost", description="A lamp post with a screen.")
class LampPostType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    name_en: str
    building: BuildingType | None
    longitude: float | None
    latitude: float | None
    active: bool
    last_seen_at: datetime | None = field(description="When its player last asked for its playlist.")


@django_type(PromoVideo, name="PromoVideo", description="An enterprise's promotional video for the lamp posts: seen "
                                                            "by the enterprise's employees and the park's operator.")
class PromoVideoType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    title: str
    enterprise: EnterpriseType
    status: VideoStatusEnum
    size: int = field(description="Bytes.")
    seconds: float | None = field(description="Its length, where the server could read it.")
    content_type: str
    submitted_at: datetime
    reviewed_at: datetime | None
    review_note: str

    @field(only=["id"], description="Signed link to the video; it expires.")
    def url(self, root: PromoVideo) -> str:
        return file_link_sign(kind="promo_video", pk=root.pk, variant="f")

    @field(annotate={"_plays": Count("plays")}, description="How often the posts reported playing it.")
    def plays(self, root: PromoVideo) -> int:
        return root._plays


@strawberry.type(name="LampPostNow", description="A lamp post and what it plays now (what a screen shows is public).")
class LampPostNowType:
    post: LampPostType
    slot: str | None = strawberry.field(description="The playlist slot playing now; null: nothing scheduled.")
    version: str = strawberry.field(description="The playlist's version (its player's ETag).")
    playing: list[str] = strawberry.field(description="The titles it loops now, in order.")

    @classmethod
    def of(cls, post, playlist) -> LampPostNowType:
        return cls(post=post, slot=playlist.slot.name if playlist.slot else None, version=playlist.version,
                   playing=[video.title for video in playlist.videos])


@strawberry.type(name="PlaylistSlot", description="What the park's posts play on some days between two times.")
class PlaylistSlotType:
    id: int
    name: str
    days: list[int]
    starts: str
    ends: str
    posts: list[str] = strawberry.field(description="The posts' codes; empty: every post of the park.")
    videos: list[str] = strawberry.field(description="The videos' titles, in order.")

    @classmethod
    def of(cls, slot) -> PlaylistSlotType:
        return cls(id=slot.pk, name=slot.name, days=list(slot.days), starts=slot.starts.strftime("%H:%M"),
                   ends=slot.ends.strftime("%H:%M"), posts=[post.code for post in slot.posts.all()],
                   videos=[entry.video.title for entry in slot.entries.all()])


# --- the operator's map --------------------------------------------------------------------------------------------

@strawberry.type(name="MapEnterprise")
class MapEnterpriseType:
    enterprise: EnterpriseType
    headcount: int = strawberry.field(description="Its employees working now (not blocked, not gone).")


@strawberry.type(name="MapBuilding")
class MapBuildingType:
    building: BuildingType
    people: int = strawberry.field(description="People inside now, from their latest passages.")
    enterprises: list[MapEnterpriseType]


@strawberry.type(name="MapCharger")
class MapChargerType:
    identity: str
    name: str
    state: str = strawberry.field(description="offline, faulty, busy or free.")
    building: BuildingType | None
    sessions_today: int
    energy_today_kwh: float
    latest_session: ChargingSessionType | None = strawberry.field(description="Its latest charge (the one going "
                                                                              "on, if any).")
    latest_employee: str | None = strawberry.field(description="Who charged last (an employee of the park).")


@strawberry.type(name="MapSecurityEvent", description="An open situation a camera on the park's grounds found.")
class MapSecurityEventType:
    algorithm: str
    camera: str
    longitude: float | None
    latitude: float | None
    started_at: datetime
    last_seen_at: datetime
    peak: int
    case_number: str | None = strawberry.field(description="The incident it raised, if any.")


@strawberry.type(name="ParkMap", description="The operator's one map of a park: every layer at one moment.")
class ParkMapType:
    park: ParkType
    at: datetime
    people: int = strawberry.field(description="People in the park now, buildings and grounds.")
    people_outside: int = strawberry.field(description="On the grounds, in no building.")
    buildings: list[MapBuildingType]
    parking: list[ParkingOccupancyType]
    chargers: list[MapChargerType]
    security: list[MapSecurityEventType]
    enterprises: list[MapEnterpriseType]
    lamp_posts: list[LampPostNowType]
    geojson: JSON = strawberry.field(description="The same as one GeoJSON FeatureCollection (properties.layer: "
                                                 "buildings, parking, chargers, security, lamp_posts).")
    picture_url: str = strawberry.field(description="The map rendered for the operator's screen (PNG; SVG with "
                                                    ".svg): fetch it with the same bearer token.")

    @classmethod
    def of(cls, found, *, geojson: dict, picture_url: str) -> ParkMapType:
        enterprises = {e.pk: MapEnterpriseType(enterprise=e, headcount=e.headcount) for e in found.enterprises}
        return cls(
            park=found.park, at=found.at, people=found.people, people_outside=found.people_outside,
            buildings=[MapBuildingType(building=layer.building, people=layer.people,
                                       enterprises=[enterprises[e.pk] for e in layer.enterprises])
                       for layer in found.buildings],
            parking=[ParkingOccupancyType.of(area) for area in found.parking],
            chargers=[MapChargerType(
                identity=layer.charger.identity, name=layer.charger.name, state=layer.state,
                building=layer.charger.building, sessions_today=layer.sessions_today,
                energy_today_kwh=layer.energy_today_wh / 1000,
                latest_session=ChargingSessionType.of(layer.latest) if layer.latest else None,
                latest_employee=str(layer.latest.employee.user) if layer.latest and layer.latest.employee else None)
                for layer in found.chargers],
            security=[MapSecurityEventType(algorithm=e.algorithm, camera=e.camera, longitude=e.longitude,
                                           latitude=e.latitude, started_at=e.started_at, last_seen_at=e.last_seen_at,
                                           peak=e.peak, case_number=e.case_number) for e in found.security],
            enterprises=list(enterprises.values()),
            lamp_posts=[LampPostNowType.of(layer.post, layer.playlist) for layer in found.lamp_posts],
            geojson=geojson, picture_url=picture_url)


@strawberry.type(name="ParkMapChange", description="Something moved on a park's map: the layer to read again.")
class ParkMapChangeType:
    layer: str = strawberry.field(description="people, parking, chargers, security, enterprises or lamp_posts.")
    kind: str = strawberry.field(description="The change, as the feed names it (passage.passed, barrier.decided, "
                                             "charging.completed, situation.opened, ...).")
    cursor: str
    at: datetime


# --- the enterprise-service board ----------------------------------------------------------------------------------

@django_type(BoardPost, name="BoardPost", description="An enterprise's offer or need on its park's board: published "
                                                          "ones for the park's people; closed and hidden ones for "
                                                          "the enterprise and the operator.")
class BoardPostType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    enterprise: EnterpriseType
    kind: BoardKindEnum
    category: BoardCategoryEnum
    title: str
    body: str
    status: BoardStatusEnum
    moderation_note: str
    created_at: datetime
    responses: list[BoardResponseType] = field(description="The answers the viewer may see: all of them for the "
                                                           "post's enterprise and the operator, their own for "
                                                           "another enterprise.")


@django_type(BoardResponse, name="BoardResponse", description="An enterprise's answer to a post.")
class BoardResponseType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    enterprise: EnterpriseType
    body: str
    created_at: datetime
