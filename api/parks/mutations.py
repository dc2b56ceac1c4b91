"""A phone provisioned (and rotated), a code passed at an online gate, an employee blocked or gone, a visitor
invited or the invitation withdrawn."""

from __future__ import annotations

import enum
from datetime import datetime, time

import strawberry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.file_uploads import Upload

from api.base.ids import input_pk
from api.context import viewer
from api.mutations import mutation
from api.parks.errors import ParkError
from api.parks.queries import credential_type
from api.parks.types import (
    BarrierEventType,
    BoardCategoryEnum,
    BoardKindEnum,
    BoardPostType,
    BoardResponseType,
    DirectionEnum,
    EmployeeStatusEnum,
    EmployeeType,
    InvitationType,
    PassageType,
    PassCredentialType,
    PlaylistSlotType,
    PromoVideoType,
    VehicleType,
)
from api.restrict import Payload
from core.restriction import visible
from parks import board, charging, lampposts, parking, services, visitors
from parks.models import Enterprise, Park, Vehicle


def _park(park_id: relay.GlobalID) -> Park:
    park = Park.objects.filter(pk=input_pk(park_id, "Park", field="parkId", message=_("Park not found."))).first()
    if park is None:
        raise ValidationError({"parkId": ValidationError(_("Park not found."), code="not_found")})
    return park


@strawberry.input
class ProvisionPassInput:
    park_id: relay.GlobalID
    public_key: str | None = strawberry.field(
        default=None, description="The phone's Ed25519 public key: a JWK, or the 32 bytes in base64url.  Omitted: "
                                  "the server makes a key and returns its private half once.")


@strawberry.type
class ProvisionPassPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    credential: PassCredentialType | None = None


@strawberry.input
class GatePassInput:
    code: str = strawberry.field(description="The scanned text (OGP1:...).")
    gate_id: relay.GlobalID
    direction: DirectionEnum


@strawberry.type
class GatePassPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    passed: bool = False
    reason: str = strawberry.field(default="", description="ok, or why not (Passage.reason).")
    drift: int = 0
    passage: PassageType | None = strawberry.field(default=None, description="For the park's operator; null for a "
                                                                             "gate controller.")


@strawberry.input
class EmployeeStatusInput:
    employee_id: relay.GlobalID
    status: EmployeeStatusEnum
    reason: str = ""


@strawberry.type
class EmployeeStatusPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    employee: EmployeeType | None = None


@strawberry.input
class InviteVisitorInput:
    park_id: relay.GlobalID
    visitor_name: str
    visitor_phone: str
    purpose: str
    valid_from: datetime
    valid_until: datetime
    building_ids: list[relay.GlobalID] = strawberry.field(default_factory=list, description="None and no gates: the "
                                                                                           "host's own buildings.")
    gate_ids: list[relay.GlobalID] = strawberry.field(default_factory=list)
    visitor_plate: str = strawberry.field(default="", description="The visitor's car, if they come by car: the car "
                                                                  "parks' barriers let it in during the visit.")


@strawberry.type
class InviteVisitorPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    invitation: InvitationType | None = None
    link: str | None = strawberry.field(default=None, description="The visitor's page (their code): shown this once, "
                                                                   "to forward to the visitor.")


@strawberry.input
class WithdrawInvitationInput:
    invitation_id: relay.GlobalID


@strawberry.type
class WithdrawInvitationPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    invitation: InvitationType | None = None


@strawberry.enum(name="ChargingAction")
class ChargingAction(enum.Enum):
    START = "start"
    STOP = "stop"


@strawberry.input
class RemoteChargeInput:
    charger: str = strawberry.field(description="The charger's identity (charge point id).")
    action: ChargingAction
    connector: int = 1
    transaction_id: int | None = strawberry.field(default=None, description="STOP: the charge to stop.")


@strawberry.type
class RemoteChargePayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    sent: bool = strawberry.field(default=False, description="The charger was asked; it starts or stops the "
                                                             "transaction itself (myChargingSessions shows it).")


@strawberry.input
class RegisterVehicleInput:
    park_id: relay.GlobalID
    plate: str = strawberry.field(description="The plate number, such as 鲁B12345 or 鲁BD12345 (new energy).")


@strawberry.type
class VehiclePayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    vehicle: VehicleType | None = None


@strawberry.input
class RemoveVehicleInput:
    vehicle_id: relay.GlobalID


@strawberry.type
class RemoveVehiclePayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    removed: bool = False


@strawberry.input
class ReportBarrierEventInput:
    gate_id: relay.GlobalID
    direction: DirectionEnum
    snapshot: Upload = strawberry.field(description="The barrier camera's picture of the vehicle (JPEG or PNG).")
    at: datetime | None = strawberry.field(default=None, description="When the vehicle came (the barrier's clock); "
                                                                     "default: now.")
    device_event: str = strawberry.field(default="", description="The barrier's own id of the event: a retried "
                                                                 "upload is recorded once.")


@strawberry.type
class BarrierEventPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    event: BarrierEventType | None = strawberry.field(default=None, description="Reported: its state is reading; "
                                                                                "the decision follows by the "
                                                                                "barrierEvent subscription.")


@strawberry.input
class ResolveBarrierEventInput:
    event_id: relay.GlobalID
    plate: str | None = strawberry.field(default=None, description="The plate the operator reads on the snapshot: "
                                                                   "the barrier decides as for a plate it read.")
    open: bool | None = strawberry.field(default=None, description="Open or keep closed whatever the plate says "
                                                                   "(without a plate: required).")


@strawberry.input
class SubmitPromoVideoInput:
    enterprise_id: relay.GlobalID
    title: str
    video: Upload = strawberry.field(description="MP4 or WebM, at most FILE_VIDEO_MAX_BYTES (200 MB by default).")


@strawberry.type
class PromoVideoPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    video: PromoVideoType | None = None


@strawberry.input
class ReviewPromoVideoInput:
    video_id: relay.GlobalID
    approve: bool
    note: str = strawberry.field(default="", description="Why it is rejected (required then); shown to the "
                                                         "enterprise.")


@strawberry.input
class SchedulePlaylistSlotInput:
    park_id: relay.GlobalID
    name: str
    days: list[int] = strawberry.field(description="ISO weekdays: 1 (Monday) to 7 (Sunday).")
    starts: str = strawberry.field(description="HH:MM")
    ends: str = strawberry.field(description="HH:MM after starts, or 24:00 (a slot stays within a day).")
    video_ids: list[relay.GlobalID] = strawberry.field(description="Approved videos, in playing order.")
    post_ids: list[relay.GlobalID] = strawberry.field(default_factory=list, description="None: every post.")


@strawberry.type
class PlaylistSlotPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    slot: PlaylistSlotType | None = None


@strawberry.input
class RemovePlaylistSlotInput:
    slot_id: int


@strawberry.type
class RemovePlaylistSlotPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    removed: bool = False


def _clock(value: str, field: str):
    if value.strip() == "24:00":  # the end of the day: a slot may run until midnight
        return time(23, 59, 59, 999999)
    try:
        return datetime.strptime(value.strip(), "%H:%M").time()
    except ValueError:
        raise ValidationError({field: ValidationError(_("A time of day as HH:MM."), code="invalid")}) from None


@strawberry.input
class PublishBoardPostInput:
    enterprise_id: relay.GlobalID
    kind: BoardKindEnum
    category: BoardCategoryEnum
    title: str
    body: str


@strawberry.type
class BoardPostPayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    post: BoardPostType | None = None


@strawberry.input
class ModerateBoardPostInput:
    post_id: relay.GlobalID
    hide: bool
    note: str = strawberry.field(default="", description="Why it is hidden (required then); the enterprise sees it.")


@strawberry.input
class CloseBoardPostInput:
    post_id: relay.GlobalID


@strawberry.input
class RespondToBoardPostInput:
    post_id: relay.GlobalID
    enterprise_id: relay.GlobalID = strawberry.field(description="The enterprise the viewer answers for.")
    body: str


@strawberry.type
class BoardResponsePayload(Payload):
    errors: list[ParkError] = strawberry.field(default_factory=list)
    response: BoardResponseType | None = None


def _enterprise(enterprise_id: relay.GlobalID) -> Enterprise:
    pk = input_pk(enterprise_id, "Enterprise", field="enterpriseId", message=_("Enterprise not found."))
    enterprise = Enterprise.objects.filter(pk=pk).first()
    if enterprise is None:
        raise ValidationError({"enterpriseId": ValidationError(_("Enterprise not found."), code="not_found")})
    return enterprise


@strawberry.type
class ParksMutation:
    @mutation(description="An employee publishes an offer or a need of their enterprise on the park's board.")
    def publish_board_post(self, info: strawberry.Info, input: PublishBoardPostInput) -> BoardPostPayload:
        return BoardPostPayload(post=board.post_publish(
            actor=viewer(info).user, enterprise=_enterprise(input.enterprise_id), kind=input.kind.value,
            category=input.category.value, title=input.title, body=input.body[:4000]))

    @mutation(description="The enterprise closes its post.")
    def close_board_post(self, info: strawberry.Info, input: CloseBoardPostInput) -> BoardPostPayload:
        pk = input_pk(input.post_id, "BoardPost", field="postId", message=_("Post not found."))
        return BoardPostPayload(post=board.post_close(actor=viewer(info).user, post_id=pk))

    @mutation(description="The park's operator hides a post from the board (with a note) or shows it again.")
    def moderate_board_post(self, info: strawberry.Info, input: ModerateBoardPostInput) -> BoardPostPayload:
        pk = input_pk(input.post_id, "BoardPost", field="postId", message=_("Post not found."))
        return BoardPostPayload(post=board.post_moderate(actor=viewer(info).user, post_id=pk, hide=input.hide,
                                                         note=input.note))

    @mutation(description="An employee answers another enterprise's post for their own enterprise; the post's "
                          "author is notified.")
    def respond_to_board_post(self, info: strawberry.Info, input: RespondToBoardPostInput) -> BoardResponsePayload:
        pk = input_pk(input.post_id, "BoardPost", field="postId", message=_("Post not found."))
        return BoardResponsePayload(response=board.response_send(
            actor=viewer(info).user, post_id=pk, enterprise=_enterprise(input.enterprise_id), body=input.body[:2000]))

    @mutation(description="An employee submits a promotional video of their enterprise for the lamp posts; the "
                          "park's operator approves it before any post plays it.")
    def submit_promo_video(self, info: strawberry.Info, input: SubmitPromoVideoInput) -> PromoVideoPayload:
        return PromoVideoPayload(video=lampposts.video_submit(actor=viewer(info).user,
                                                              enterprise=_enterprise(input.enterprise_id),
                                                              title=input.title, upload=input.video))

    @mutation(description="The park's operator approves a video for the lamp posts, or rejects it (or takes an "
                          "approved one off the screens) with a note.")
    def review_promo_video(self, info: strawberry.Info, input: ReviewPromoVideoInput) -> PromoVideoPayload:
        pk = input_pk(input.video_id, "PromoVideo", field="videoId", message=_("Video not found."))
        return PromoVideoPayload(video=lampposts.video_review(actor=viewer(info).user, video_id=pk,
                                                              approve=input.approve, note=input.note))

    @mutation(description="The park's operator schedules approved videos on its lamp posts for a time slot.")
    def schedule_playlist_slot(self, info: strawberry.Info, input: SchedulePlaylistSlotInput) -> PlaylistSlotPayload:
        videos = [input_pk(gid, "PromoVideo", field="videoIds", message=_("Video not found."))
                  for gid in input.video_ids[:lampposts.SLOT_MAX_VIDEOS + 1]]
        posts = [input_pk(gid, "LampPost", field="postIds", message=_("Lamp post not found."))
                 for gid in input.post_ids[:500]]
        slot = lampposts.slot_create(actor=viewer(info).user, park=_park(input.park_id), name=input.name,
                                     days=input.days[:50], starts=_clock(input.starts, "starts"),
                                     ends=_clock(input.ends, "ends"), post_ids=posts, video_ids=videos)
        return PlaylistSlotPayload(slot=PlaylistSlotType.of(slot))

    @mutation(description="The park's operator takes a slot off the lamp posts' schedule.")
    def remove_playlist_slot(self, info: strawberry.Info, input: RemovePlaylistSlotInput) -> RemovePlaylistSlotPayload:
        lampposts.slot_remove(actor=viewer(info).user, slot_id=input.slot_id)
        return RemovePlaylistSlotPayload(removed=True)

    @mutation(description="An employee registers their vehicle: the park's car park barriers let its plate in.")
    def register_vehicle(self, info: strawberry.Info, input: RegisterVehicleInput) -> VehiclePayload:
        return VehiclePayload(vehicle=parking.vehicle_register(actor=viewer(info).user, park=_park(input.park_id),
                                                               plate=input.plate[:20]))

    @mutation(description="Remove a registered vehicle (its employee, or the park's operator).")
    def remove_vehicle(self, info: strawberry.Info, input: RemoveVehicleInput) -> RemoveVehiclePayload:
        pk = input_pk(input.vehicle_id, "Vehicle", field="vehicleId", message=_("Vehicle not found."))
        vehicle = visible(Vehicle, viewer(info).user).select_related("employee", "park").filter(pk=pk).first()
        if vehicle is None:
            raise ValidationError({"vehicleId": ValidationError(_("Vehicle not found."), code="not_found")})
        parking.vehicle_remove(actor=viewer(info).user, vehicle=vehicle)
        return RemoveVehiclePayload(removed=True)

    @mutation(description="A parking barrier's controller reports a vehicle with its camera's snapshot: the plate is "
                          "read on the vision workers and the barrier decides; a plate the reader is not sure of "
                          "waits for the operator (barrierQueue).")
    def report_barrier_event(self, info: strawberry.Info, input: ReportBarrierEventInput) -> BarrierEventPayload:
        gate = input_pk(input.gate_id, "Gate", field="gateId", message=_("Gate not found."))
        event = parking.barrier_event_report(actor=viewer(info).user, gate_id=gate, direction=input.direction.value,
                                             snapshot=input.snapshot, at=input.at,
                                             device_event=input.device_event[:40])
        return BarrierEventPayload(event=event)

    @mutation(description="The park's operator decides for a vehicle in the queue: the plate read on the snapshot, "
                          "or open / keep closed; or opens the barrier for a refused vehicle.")
    def resolve_barrier_event(self, info: strawberry.Info, input: ResolveBarrierEventInput) -> BarrierEventPayload:
        pk = input_pk(input.event_id, "BarrierEvent", field="eventId", message=_("Barrier event not found."))
        event = parking.barrier_event_resolve(actor=viewer(info).user, event_id=pk,
                                              plate=(input.plate or "")[:20] or None, passed=input.open)
        return BarrierEventPayload(event=event)

    @mutation(description="Start a charge at a connected charger from the app (an employee, with the tag OneGrid "
                          "gives their app), or stop one (its employee, or the park's operator): sent to the charger "
                          "as OCPP RemoteStart/StopTransaction.")
    def remote_charge(self, info: strawberry.Info, input: RemoteChargeInput) -> RemoteChargePayload:
        charging.charging_remote(actor=viewer(info).user, identity=input.charger[:48], command=input.action.value,
                                 connector=max(1, min(input.connector, 99)), transaction_id=input.transaction_id)
        return RemoteChargePayload(sent=True)

    @mutation(description="Provision the viewer's phone for a park (an employee or the operator's staff): a "
                          "credential binding the phone's key.  Calling it again rotates: the credential before is "
                          "refused at once.")
    def provision_pass(self, info: strawberry.Info, input: ProvisionPassInput) -> ProvisionPassPayload:
        found = services.credential_provision(user=viewer(info).user, park=_park(input.park_id),
                                              device_public_key=input.public_key)
        return ProvisionPassPayload(credential=credential_type(found.credential,
                                                               private_key_pem=found.private_key_pem))

    @mutation(description="An online gate (its controller's account, or the operator's staff) passes a scanned "
                          "code: the verdict, logged with its reason whichever it is.")
    def gate_pass(self, info: strawberry.Info, input: GatePassInput) -> GatePassPayload:
        gate = input_pk(input.gate_id, "Gate", field="gateId", message=_("Gate not found."))
        passage = services.gate_pass(actor=viewer(info).user, gate_id=gate, code=input.code[:2000],
                                     direction=input.direction.value)
        return GatePassPayload(passed=passage.result == "passed", reason=passage.reason, drift=passage.drift,
                               passage=passage)

    @mutation(description="The park's operator blocks an employee, records that they left (their codes are "
                          "refused at once online, at the next sync offline), or lets them work again.")
    def set_employee_status(self, info: strawberry.Info, input: EmployeeStatusInput) -> EmployeeStatusPayload:
        pk = input_pk(input.employee_id, "Employee", field="employeeId", message=_("Employee not found."))
        employee = services.employee_status_set(actor=viewer(info).user, employee_id=pk, status=input.status.value,
                                                reason=input.reason)
        return EmployeeStatusPayload(employee=employee)

    @mutation(description="An employee invites a visitor: their code (on the page of the returned link) passes the "
                          "given buildings and gates within the window; the host is told when they pass.")
    def invite_visitor(self, info: strawberry.Info, input: InviteVisitorInput) -> InviteVisitorPayload:
        buildings = [input_pk(gid, "Building", field="buildingIds", message=_("Building not found."))
                     for gid in input.building_ids[:50]]
        gates = [input_pk(gid, "Gate", field="gateIds", message=_("Gate not found.")) for gid in input.gate_ids[:50]]
        invited = visitors.invitation_create(
            actor=viewer(info).user, park=_park(input.park_id), visitor_name=input.visitor_name,
            visitor_phone=input.visitor_phone, purpose=input.purpose, valid_from=input.valid_from,
            valid_until=input.valid_until, building_ids=buildings, gate_ids=gates, visitor_plate=input.visitor_plate[:20])
        return InviteVisitorPayload(invitation=invited.invitation, link=invited.link)

    @mutation(description="The host (or the park's operator) withdraws an invitation: the visitor's code is refused "
                          "at once.")
    def withdraw_invitation(self, info: strawberry.Info, input: WithdrawInvitationInput) -> WithdrawInvitationPayload:
        pk = input_pk(input.invitation_id, "Invitation", field="invitationId", message=_("Invitation not found."))
        return WithdrawInvitationPayload(invitation=visitors.invitation_withdraw(actor=viewer(info).user,
                                                                                 invitation_id=pk))
