"""Parking through the real schema: plates validated, vehicles registered, real barrier snapshots read by the
registered plate reader, the barrier's decision from the plate, the registrations and the invitations, the
operator's queue for what the reader is not sure of, occupancy and overstays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from strawberry.relay import to_base64

from parks.models import BarrierEvent, BarrierState, ParkingStay
from parks.parking import overstays_flag, vehicle_register
from parks.plates import PlateInvalid, plate_parse
from parks.tasks import barrier_plate_read_task
from parks.visitors import invitation_create
from tests.parks.conftest import picture

REPORT = """mutation($input: ReportBarrierEventInput!) { reportBarrierEvent(input: $input) {
  errors { code field message } event { id state direction plate result reason } } }"""
RESOLVE = """mutation($input: ResolveBarrierEventInput!) { resolveBarrierEvent(input: $input) {
  errors { code field } event { state plate result reason } } }"""
REGISTER = """mutation($input: RegisterVehicleInput!) { registerVehicle(input: $input) {
  errors { code field message } vehicle { plate } } }"""
EVENT = """query($id: ID!) { node(id: $id) { ... on BarrierEvent { state plate confidence queueReason result reason
  readings snapshotUrl thumbnailUrl invitation { visitorName } vehicle { plate } } } }"""
QUEUE = "query($park: ID!) { barrierQueue(parkId: $park) { edges { node { id state queueReason confidence readings } } } }"
OCCUPANCY = """query($park: ID!) { parkingOccupancy(parkId: $park) { area { code } capacity occupied free
  overstays } }"""


@pytest.mark.parametrize(("text", "plate", "kind"), [
    ("鲁B12345", "鲁B12345", "ordinary"),
    (" 鲁 b·1234５ ", "鲁B12345", "ordinary"),  # spaces, a dot, lower case, a full-width digit
    ("粤BD12345", "粤BD12345", "new_energy_small"),
    ("鲁BFA1234", "鲁BFA1234", "new_energy_small"),
    ("粤B12345D", "粤B12345D", "new_energy_large"),
    ("浙FA096警", "浙FA096警", "special"),
    ("粤Z1234港", "粤Z1234港", "special"),
    ("使123456", "使123456", "embassy"),
])
def test_chinese_plates_are_normalised_and_told_apart(text, plate, kind):
    parsed = plate_parse(text)
    assert (parsed.text, parsed.kind) == (plate, kind)
    assert parsed.new_energy == kind.startswith("new_energy")


@pytest.mark.parametrize(("text", "code"), [
    ("", "empty"), ("鲁B1234", "length"), ("鲁B123456789", "length"), ("XB12345", "province"),
    ("鲁BI2345", "format"),  # no I (it reads as 1), no O
    ("鲁B1234O", "format"), ("鲁BD1234A", "format"),  # a small new-energy plate ends in four digits
    ("鲁BX12345", "format"),  # X is no energy letter
    ("鲁1B2345", "format"),
])
def test_what_is_not_a_plate_is_refused_with_its_reason(text, code):
    with pytest.raises(PlateInvalid) as refused:
        plate_parse(text)
    assert refused.value.code == code


def _report(gql, token, gate, plate, direction="IN", **extra):
    variables = {"input": {"gateId": to_base64("Gate", gate.pk), "direction": direction, "snapshot": None, **extra}}
    return gql.upload(REPORT, variables, {"input.snapshot": picture(plate)}, token=token).data["reportBarrierEvent"]


def _read(gql, token, report) -> dict:
    """What the vision worker does with the reported event (``parks.tasks.barrier_plate_read_task``), then the
    event as the operator sees it."""
    assert barrier_plate_read_task(BarrierEvent.objects.get(state=BarrierState.READING).pk) != "reading"
    return gql(EVENT, {"id": report["event"]["id"]}, token=token).data["node"]


@pytest.mark.django_db
def test_real_snapshots_let_in_an_employees_car_and_a_visitors_and_count_them(
        software_park, garage, plate_reader, gql, token_for):
    sp, (_area, gate) = software_park, garage
    gate_token, operator = token_for(sp.gate_account), token_for(sp.operator)
    park = to_base64("Park", sp.park.pk)
    registered = gql(REGISTER, {"input": {"parkId": park, "plate": "苏b 76933"}}, token=token_for(sp.employee.user))
    assert registered.data["registerVehicle"] == {"errors": [], "vehicle": {"plate": "苏B76933"}}
    now = timezone.now()
    invitation_create(actor=sp.colleague.user, park=sp.park, visitor_name="李雷", visitor_phone="13800138000",
                      purpose="面试", valid_from=now, valid_until=now + timedelta(hours=3), visitor_plate="鲁D36694")

    report = _report(gql, gate_token, gate, "苏B76933", deviceEvent="cam-1-0001")
    assert report["errors"] == [] and report["event"]["state"] == "READING"
    seen = _read(gql, operator, report)
    assert (seen["state"], seen["plate"], seen["result"], seen["reason"]) == ("DECIDED", "苏B76933", "PASSED",
                                                                             "registered")
    assert seen["vehicle"] == {"plate": "苏B76933"} and seen["confidence"] > 0.95
    assert seen["readings"][0]["text"] == "苏B76933" and len(seen["readings"][0]["box"]) == 4
    snapshot = Client().get(seen["snapshotUrl"])  # the operator's screen shows the snapshot
    assert snapshot.status_code == 200 and snapshot["Content-Type"] == "image/jpeg"

    # the same upload again (the barrier retried): one event
    again = _report(gql, gate_token, gate, "苏B76933", deviceEvent="cam-1-0001")
    assert again["event"]["id"] == report["event"]["id"] and BarrierEvent.objects.count() == 1

    visitor = _read(gql, operator, _report(gql, gate_token, gate, "鲁D36694"))
    assert (visitor["result"], visitor["reason"], visitor["invitation"]) == ("PASSED", "visitor",
                                                                            {"visitorName": "李雷"})
    stranger = _read(gql, operator, _report(gql, gate_token, gate, "苏EN5A13"))
    assert (stranger["plate"], stranger["result"], stranger["reason"]) == ("苏EN5A13", "REFUSED", "unknown_plate")
    occupancy = gql(OCCUPANCY, {"park": park}, token=token_for(sp.employee.user)).data["parkingOccupancy"]
    assert occupancy == [{"area": {"code": "garage"}, "capacity": 3, "occupied": 2, "free": 1, "overstays": 0}]

    # an exit the barrier dates before the car came in ends nothing
    early = _read(gql, operator, _report(gql, gate_token, gate, "苏B76933", direction="OUT",
                                         at=(timezone.now() - timedelta(hours=12)).isoformat()))
    assert (early["result"], early["reason"]) == ("PASSED", "no_entry_recorded")
    assert ParkingStay.objects.get(plate="苏B76933").exited_at is None
    out = _read(gql, operator, _report(gql, gate_token, gate, "苏B76933", direction="OUT"))
    assert (out["result"], out["reason"]) == ("PASSED", "exit")
    stay = ParkingStay.objects.get(plate="苏B76933")
    assert stay.exited_at is not None and stay.vehicle.employee == sp.employee
    occupancy = gql(OCCUPANCY, {"park": park}, token=token_for(sp.employee.user)).data["parkingOccupancy"]
    assert occupancy[0]["occupied"] == 1
    # the refused stranger: the driver calls from the barrier, the operator opens it
    opened = gql(RESOLVE, {"input": {"eventId": to_base64("BarrierEvent", BarrierEvent.objects.get(
        plate="苏EN5A13").pk), "open": True}}, token=operator).data["resolveBarrierEvent"]
    assert opened["event"] == {"state": "DECIDED", "plate": "苏EN5A13", "result": "PASSED",
                               "reason": "operator_opened"}
    assert ParkingStay.objects.filter(plate="苏EN5A13", exited_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_plate_the_reader_is_unsure_of_waits_for_the_operator_never_a_guess(
        software_park, garage, plate_reader, gql, token_for):
    sp, (_area, gate) = software_park, garage
    vehicle_register(actor=sp.employee.user, park=sp.park, plate="浙FS8975")
    gate_token, operator = token_for(sp.gate_account), token_for(sp.operator)
    park = to_base64("Park", sp.park.pk)
    report = _report(gql, gate_token, gate, "浙FS8975")  # read, but below 0.9 (the reader's first letter wavers)
    seen = _read(gql, operator, report)
    assert (seen["state"], seen["plate"], seen["result"], seen["queueReason"]) == ("UNREADABLE", "", None, "unsure")
    assert seen["readings"] and seen["confidence"] == seen["readings"][0]["confidence"] < 0.9
    assert not ParkingStay.objects.exists()
    queue = gql(QUEUE, {"park": park}, token=operator).data["barrierQueue"]["edges"]
    assert [row["node"]["id"] for row in queue] == [report["event"]["id"]]
    # the queue is the operator's: the employee is told there is no such park to operate
    assert gql(QUEUE, {"park": park}, token=token_for(sp.employee.user)).error_codes == ["not_found"]

    typo = gql(RESOLVE, {"input": {"eventId": report["event"]["id"], "plate": "浙FS897"}}, token=operator)
    assert typo.data["resolveBarrierEvent"]["errors"] == [{"code": "invalid_plate", "field": "plate"}]
    refused = gql(RESOLVE, {"input": {"eventId": report["event"]["id"], "plate": "浙FS8975"}},
                  token=token_for(sp.employee.user))
    assert refused.data["resolveBarrierEvent"]["errors"][0]["code"] == "permission_denied"
    resolved = gql(RESOLVE, {"input": {"eventId": report["event"]["id"], "plate": "浙fs8975"}}, token=operator)
    assert resolved.data["resolveBarrierEvent"]["event"] == {"state": "DECIDED", "plate": "浙FS8975",
                                                             "result": "PASSED", "reason": "registered"}
    assert gql(QUEUE, {"park": park}, token=operator).data["barrierQueue"]["edges"] == []
    twice = gql(RESOLVE, {"input": {"eventId": report["event"]["id"], "open": False}}, token=operator)
    assert twice.data["resolveBarrierEvent"]["errors"][0]["code"] == "already_decided"

    # a picture with no plate in it (a false trigger): queued as no_plate, dismissed by the operator
    from tests.vision.conftest import ZIDANE

    variables = {"input": {"gateId": to_base64("Gate", gate.pk), "direction": "IN", "snapshot": None}}
    empty = gql.upload(REPORT, variables, {"input.snapshot": ZIDANE.read_bytes()}, token=gate_token)
    seen = _read(gql, operator, empty.data["reportBarrierEvent"])
    assert (seen["state"], seen["queueReason"]) == ("UNREADABLE", "no_plate")
    dismissed = gql(RESOLVE, {"input": {"eventId": empty.data["reportBarrierEvent"]["event"]["id"], "open": False}},
                    token=operator).data["resolveBarrierEvent"]["event"]
    assert (dismissed["result"], dismissed["reason"]) == ("REFUSED", "dismissed")


@pytest.mark.django_db
def test_without_a_reader_every_vehicle_goes_to_the_operator(software_park, garage, gql, token_for):
    sp, (_area, gate) = software_park, garage
    report = _report(gql, token_for(sp.gate_account), gate, "苏B76933")
    seen = _read(gql, token_for(sp.operator), report)
    assert (seen["state"], seen["queueReason"], seen["readings"]) == ("UNREADABLE", "no_reader", [])


@pytest.mark.django_db
def test_bad_reports_are_refused_with_their_reason(software_park, garage, gql, token_for, users):
    sp, (_area, gate) = software_park, garage
    gate_token = token_for(sp.gate_account)
    entrance = to_base64("Gate", sp.gates["north"].pk)
    not_a_barrier = gql.upload(REPORT, {"input": {"gateId": entrance, "direction": "IN", "snapshot": None}},
                               {"input.snapshot": picture("苏B76933")}, token=gate_token)
    assert not_a_barrier.data["reportBarrierEvent"]["errors"][0]["code"] == "not_found"
    garbage = gql.upload(REPORT, {"input": {"gateId": to_base64("Gate", gate.pk), "direction": "IN",
                                            "snapshot": None}}, {"input.snapshot": b"not a picture" * 100},
                         token=gate_token)
    assert garbage.data["reportBarrierEvent"]["errors"][0]["code"] == "not_an_image"
    late = _report(gql, gate_token, gate, "苏B76933", at=(timezone.now() + timedelta(hours=1)).isoformat())
    assert late["errors"][0]["code"] == "bad_time"
    stranger = _report(gql, token_for(sp.employee.user), gate, "苏B76933")
    assert stranger["errors"][0]["code"] == "permission_denied"
    assert not BarrierEvent.objects.exists()

    park = to_base64("Park", sp.park.pk)
    employee = token_for(sp.employee.user)
    for plate, code in (("鲁B1234", "invalid_plate"), ("鲁BI2345", "invalid_plate")):
        answer = gql(REGISTER, {"input": {"parkId": park, "plate": plate}}, token=employee)
        assert answer.data["registerVehicle"]["errors"][0]["code"] == code
    for plate in ("鲁B11111", "鲁B22222", "鲁B33333"):
        assert gql(REGISTER, {"input": {"parkId": park, "plate": plate}}, token=employee).data[
            "registerVehicle"]["errors"] == []
    fourth = gql(REGISTER, {"input": {"parkId": park, "plate": "鲁B44444"}}, token=employee)
    assert fourth.data["registerVehicle"]["errors"][0]["code"] == "too_many"
    taken = gql(REGISTER, {"input": {"parkId": park, "plate": "鲁B11111"}}, token=token_for(sp.colleague.user))
    assert taken.data["registerVehicle"]["errors"][0]["code"] == "plate_taken"
    outsider = gql(REGISTER, {"input": {"parkId": park, "plate": "鲁B55555"}}, token=token_for(users["worker"]))
    assert outsider.data["registerVehicle"]["errors"][0]["code"] == "permission_denied"


@pytest.mark.django_db
def test_overstays_are_flagged_once(software_park, garage):
    sp, (area, _gate) = software_park, garage
    now = timezone.now()
    long_ago = ParkingStay.objects.create(park=sp.park, area=area, plate="鲁B11111", entered_at=now - timedelta(hours=13))
    ParkingStay.objects.create(park=sp.park, area=area, plate="鲁B22222", entered_at=now - timedelta(hours=11))
    invited = invitation_create(actor=sp.employee.user, park=sp.park, visitor_name="韩梅梅",
                                visitor_phone="13800138001", purpose="拜访", valid_from=now - timedelta(hours=2),
                                valid_until=now + timedelta(minutes=1), visitor_plate="鲁B33333").invitation
    visitor = ParkingStay.objects.create(park=sp.park, area=area, plate="鲁B33333", invitation=invited,
                                         entered_at=now - timedelta(hours=1))
    assert overstays_flag(now=now) == 1
    long_ago.refresh_from_db()
    assert long_ago.overstay_at == now
    assert overstays_flag(now=now + timedelta(minutes=2)) == 1  # the visit is over: the visitor's car
    visitor.refresh_from_db()
    assert visitor.overstay_at is not None
    assert overstays_flag(now=now + timedelta(minutes=3)) == 0  # each once
