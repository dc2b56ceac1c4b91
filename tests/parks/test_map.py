"""The operator's one map of a park through the real schema: every layer from what really happened (codes passed at
gates, a car let in, a charge, a crowd a camera's rule found, employees, a video on the lamp posts), as GeoJSON,
as a picture for the screen, and live over a websocket: each change names the layer to read again, only the
operator's park's."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.test import Client
from django.utils import timezone
from PIL import Image
from strawberry.relay import to_base64

from gridapp.geography.models import BaseRecord, RecordKind
from parks.charging import charger_create, connector_status, transaction_start, transaction_stop
from parks.lampposts import lamp_post_create, slot_create, video_review, video_submit
from parks.models import Building, Park
from parks.parking import barrier_event_read, barrier_event_report, vehicle_register
from parks.services import gate_pass
from tests.api.test_websocket import issue, open_socket
from tests.parks.conftest import Phone
from tests.vision.conftest import BUS
from vision.detections import Detection
from vision.models import Camera, CameraRule, SourceKind
from vision.rules import Algorithm
from vision.services import Picture, Seen, snapshots_record

MAP = """query($park: ID!) { parkMap(parkId: $park) { at people peopleOutside
  buildings { building { code } people enterprises { enterprise { name } headcount } }
  parking { area { code } capacity occupied free overstays }
  chargers { identity state sessionsToday energyTodayKwh latestEmployee latestSession { energyKwh status } }
  security { algorithm camera peak caseNumber longitude latitude }
  enterprises { enterprise { name } headcount }
  lampPosts { post { code } slot playing }
  geojson pictureUrl } }"""
CHANGES = "subscription($park: ID!) { parkMapChanged(parkId: $park) { layer kind cursor } }"
CROWD = [Detection("person", 0.9, (0.1 * n, 0.3, 0.1 * n + 0.08, 0.9)) for n in range(4)]
CAMERA = (120.31, 36.01)  # in the test district's grid, where its incidents are routed
SPOTS = {"A": (120.4681, 36.1071), "B": (120.4692, 36.1075), "C": (120.4701, 36.1068)}


def _place(park) -> None:
    for code, (lon, lat) in SPOTS.items():
        Building.objects.filter(park=park.park, code=code).update(longitude=lon, latitude=lat)


def _camera(park, district) -> Camera:
    """A camera on the park's grounds, in the district's catalogue, with a crowd rule that fires at once."""
    record = BaseRecord.objects.create(external_id="SP-CAM-1", kind=RecordKind.CAMERA, name="软件园北门摄像机",
                                       lng=CAMERA[0], lat=CAMERA[1], grid=district.grid)
    camera = Camera.objects.create(record=record, source_kind=SourceKind.FILE, source=str(BUS))
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD,
                              params={"min_people": 3, "min_hits": 1, "min_seconds": 0})
    park.park.cameras.add(camera)
    return camera


def _crowd(camera, at) -> None:
    """The camera's picture with four people in it, recorded as the vision worker records one (the detections are
    given: what is tested here is where the situation goes, not the detector)."""
    with Image.open(BUS) as image:
        snapshots_record([Seen(Picture(camera, at, image.convert("RGB")), CROWD, "person v1 (pt)")])


def _car_in(park, gate, plate: str) -> None:
    event = barrier_event_report(actor=park.gate_account, gate_id=gate.pk, direction="in",
                                 snapshot=_jpeg())
    barrier_event_read(event_id=event.pk, readings=[{"text": plate, "confidence": 0.99, "box": [0, 0, 1, 1]}])


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.django_db
def test_one_query_returns_every_layer_of_the_operators_map(
        software_park, garage, mp4, district, event_categories, gql, token_for):
    sp, (_area, gate) = software_park, garage
    _place(sp)
    now = time.time()
    for person, where in ((sp.employee.user, "A-door"), (sp.colleague.user, "north")):
        phone = Phone(person, sp.park)
        assert gate_pass(actor=sp.gate_account, gate_id=sp.gates[where].pk, code=phone.code(now),
                         direction="in", now=now).result == "passed"
    vehicle_register(actor=sp.employee.user, park=sp.park, plate="苏B76933")
    _car_in(sp, gate, "苏B76933")
    charger = charger_create(park=sp.park, identity="CP-A1", name="A 座 1 号充电桩", password="x",
                             building=sp.buildings["A"])
    connector_status(charger=charger, number=1, status="Available", error_code="NoError")
    sp.employee.card_id = "CARD-1"
    sp.employee.save(update_fields=["card_id"])
    started = transaction_start(charger=charger, connector=1, id_tag="CARD-1", meter_start=100,
                                at=timezone.now() - timedelta(minutes=30))
    transaction_stop(charger=charger, transaction_id=started.transaction_id, meter_stop=4100, at=timezone.now())
    _crowd(_camera(sp, district), datetime.now(UTC))
    post, _key = lamp_post_create(park=sp.park, code="sp-lamp-1", name="1 号灯杆", longitude=120.4676,
                                  latitude=36.1080)
    video = video_submit(actor=sp.employee.user, enterprise=sp.yunfan, title="云帆招聘", upload=mp4)
    video_review(actor=sp.operator, video_id=video.pk, approve=True)
    slot_create(actor=sp.operator, park=sp.park, name="全天", days=list(range(1, 8)), starts=datetime.min.time(),
                ends=datetime.max.time().replace(microsecond=0), video_ids=[video.pk])

    park_id = to_base64("Park", sp.park.pk)
    answer = gql(MAP, {"park": park_id}, token=token_for(sp.operator))
    assert answer.errors == [], answer.body
    seen = answer.data["parkMap"]
    assert (seen["people"], seen["peopleOutside"]) == (2, 1)
    assert [(b["building"]["code"], b["people"], [(e["enterprise"]["name"], e["headcount"]) for e in b["enterprises"]])
            for b in seen["buildings"]] == [("A", 1, [("青岛云帆信息技术有限公司", 2)]),
                                            ("B", 0, [("青岛启明软件有限公司", 1)]), ("C", 0, [])]
    assert seen["parking"] == [{"area": {"code": "garage"}, "capacity": 3, "occupied": 1, "free": 2,
                                "overstays": 0}]
    assert seen["chargers"] == [{"identity": "CP-A1", "state": "offline", "sessionsToday": 1, "energyTodayKwh": 4.0,
                                 "latestEmployee": str(sp.employee.user),
                                 "latestSession": {"energyKwh": 4.0, "status": "completed"}}]
    [crowd] = seen["security"]
    assert (crowd["algorithm"], crowd["camera"], crowd["peak"]) == ("crowd", "软件园北门摄像机", 4)
    assert crowd["caseNumber"]  # the incident the camera raised
    assert seen["lampPosts"] == [{"post": {"code": "sp-lamp-1"}, "slot": "全天", "playing": ["云帆招聘"]}]
    layers = {}
    for feature in seen["geojson"]["features"]:
        layers.setdefault(feature["properties"]["layer"], []).append(feature)
    assert {name: len(found) for name, found in layers.items()} == {
        "buildings": 3, "parking": 1, "chargers": 1, "security": 1, "lamp_posts": 1}
    assert layers["chargers"][0]["geometry"] == {"type": "Point", "coordinates": list(SPOTS["A"])}  # its building's
    assert layers["security"][0]["geometry"]["coordinates"] == list(CAMERA)

    picture = Client().get(seen["pictureUrl"], HTTP_AUTHORIZATION=f"Bearer {token_for(sp.operator)}")
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(picture.content)).size == (1920, 1080)
    svg = Client().get(seen["pictureUrl"].replace(".png", ".svg"), HTTP_AUTHORIZATION=f"Bearer "
                                                                                     f"{token_for(sp.operator)}")
    assert svg.status_code == 200 and svg.content.startswith(b"<?xml")
    # the map is the operator's: an employee of the park is told there is no such park, without a token no picture
    assert gql(MAP, {"park": park_id}, token=token_for(sp.employee.user)).error_codes == ["not_found"]
    assert Client().get(seen["pictureUrl"], HTTP_AUTHORIZATION=f"Bearer {token_for(sp.employee.user)}").status_code \
        == 404
    assert Client().get(seen["pictureUrl"]).status_code == 401


@pytest.mark.django_db(transaction=True)
async def test_the_map_says_live_which_layer_moved_and_only_for_the_operators_park(
        software_park, garage, district, event_categories):
    sp, (_area, gate) = software_park, garage

    def prepare():
        _place(sp)
        other = Park.objects.create(code="other-park", name="别的园区")
        return issue(sp.operator), _camera(sp, district), other

    token, camera, other = await database_sync_to_async(prepare)()
    _connected, client = await open_socket(token)
    await client.subscribe("map", CHANGES, {"park": to_base64("Park", sp.park.pk)})
    assert await client.nothing()

    def people():
        now = time.time()
        gate_pass(actor=sp.gate_account, gate_id=sp.gates["north"].pk, code=Phone(sp.employee.user, sp.park).code(now),
                  direction="in", now=now)

    async def change() -> dict:
        message = await client.next(timeout=10)
        assert message["type"] == "next", message
        return message["payload"]["data"]["parkMapChanged"]

    await database_sync_to_async(people)()
    assert (await change())["layer"] == "people"
    await database_sync_to_async(lambda: (vehicle_register(actor=sp.employee.user, park=sp.park, plate="苏B76933"),
                                          _car_in(sp, gate, "苏B76933")))()
    kinds = {(await change())["kind"] for _ in range(2)}  # reported, then decided
    assert kinds == {"barrier.reported", "barrier.decided"}
    await database_sync_to_async(_crowd)(camera, datetime.now(UTC))
    opened = await change()
    assert (opened["layer"], opened["kind"]) == ("security", "situation.opened")

    def elsewhere():  # another park's lamp post and schedule: not on this map
        with transaction.atomic():
            lamp_post_create(park=other, code="other-lamp", name="别处灯杆")
    await database_sync_to_async(elsewhere)()
    assert await client.nothing(timeout=1.5)
