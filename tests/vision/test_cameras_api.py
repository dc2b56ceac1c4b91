"""The cameras in the API: who sees which camera, which algorithms the installed models can run and which model
serves each, what the cameras see now, people-flow series; constant query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from strawberry import relay

from gridapp.geography.models import BaseRecord, RecordKind
from gridapp.incidents.services import event_report
from tests.vision.conftest import BUS
from vision.models import Camera, CameraRule, FlowSample, Situation, SourceKind
from vision.registry import registry_forget
from vision.rules import Algorithm

pytestmark = pytest.mark.django_db

CAMERAS = """query($filter: CameraFilter) { cameras(first: 50, filter: $filter) { edges { node {
  id code name position grid { code } status sourceKind intervalSeconds
  algorithms { algorithm enabled ready models missing zone }
  openSituations { algorithm peak event { caseNumber } }
} } } }"""
FLOW = "query($id: ID!) { cameraFlow(cameraId: $id, hours: 24) { intervalStart count } }"


def _camera(grid, n: int) -> Camera:
    record = BaseRecord.objects.create(external_id=f"CAM-A-{grid.code}-{n}", kind=RecordKind.CAMERA,
                                       name=f"Camera {n}", lng=float(grid.centroid_lng or 120.31), lat=36.01,
                                       grid=grid)
    camera = Camera.objects.create(record=record, source_kind=SourceKind.FILE, source=str(BUS))
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD)
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.PILED_GARBAGE, zone=[[0, 0.5], [1, 0.5], [1, 1]])
    return camera


@pytest.fixture
def cameras(district, users):
    return {"mine": _camera(district.grid, 1), "other": _camera(district.grid2, 1)}


def _codes(gql, token) -> set[str]:
    answer = gql(CAMERAS, token=token)
    assert not answer.errors, answer.errors
    return {edge["node"]["code"] for edge in answer.data["cameras"]["edges"]}


def test_each_role_sees_the_cameras_of_its_places_only(gql, users, token_for, cameras):
    mine, other = cameras["mine"].record.external_id, cameras["other"].record.external_id
    assert _codes(gql, token_for(users["worker"])) == {mine}
    assert _codes(gql, token_for(users["worker2"])) == {other}
    assert _codes(gql, token_for(users["operator"])) == {mine, other}
    assert _codes(gql, token_for(users["citizen"])) == set()
    node = gql("query($id: ID!) { node(id: $id) { ... on Camera { code } } }",
               {"id": str(relay.GlobalID("Camera", str(cameras["other"].pk)))}, token=token_for(users["worker"]))
    assert node.data["node"] is None
    assert gql(CAMERAS).error_codes == ["unauthenticated"]


def test_a_camera_says_which_algorithms_can_run_and_which_model_serves_each(
        gql, users, token_for, cameras, detectors):
    [edge] = gql(CAMERAS, token=token_for(users["worker"])).data["cameras"]["edges"]
    algorithms = {a["algorithm"]: a for a in edge["node"]["algorithms"]}
    assert algorithms["CROWD"]["ready"] and algorithms["CROWD"]["models"] == ["person v1"]
    garbage = algorithms["PILED_GARBAGE"]
    assert not garbage["ready"] and garbage["missing"] == ["garbage"] and garbage["models"] == []
    assert garbage["zone"] == [[0, 0.5], [1, 0.5], [1, 1]]


def test_open_situations_show_their_incident_to_those_who_may_see_it(
        gql, users, token_for, cameras, event_categories):
    camera = cameras["mine"]
    event = event_report(reporter=None, source="camera", category_code="05-08", lng=120.31, lat=36.01,
                         photos=[BUS.read_bytes()]).event
    now = timezone.now()
    Situation.objects.create(rule=camera.rules.get(algorithm=Algorithm.CROWD), camera=camera, started_at=now,
                             last_seen_at=now, peak=4, event=event)
    answer = gql(CAMERAS, {"filter": {"situation": True}}, token=token_for(users["worker"]))
    [edge] = answer.data["cameras"]["edges"]
    assert edge["node"]["openSituations"] == [{"algorithm": "CROWD", "peak": 4,
                                               "event": {"caseNumber": event.case_number}}]
    idle = gql(CAMERAS, {"filter": {"situation": False}}, token=token_for(users["worker"]))
    assert idle.data["cameras"]["edges"] == []


def test_the_camera_list_costs_the_same_queries_for_two_cameras_or_ten(gql, users, token_for, cameras, district):
    token = token_for(users["operator"])

    def count() -> int:
        registry_forget()  # the detector registry is read once per process and TTL: count that query both times
        with CaptureQueriesContext(connection) as captured:
            assert not gql(CAMERAS, token=token).errors
        return len(captured)

    few = count()
    for n in range(2, 10):
        _camera(district.grid, n)
    assert count() == few


def test_the_camera_list_applies_the_viewers_visibility_once(gql, users, token_for, cameras):
    """The list's selector narrows it to the viewer; the type's safety net (for `node`) does not filter again."""
    with CaptureQueriesContext(connection) as captured:
        assert _codes(gql, token_for(users["worker"])) == {cameras["mine"].record.external_id}
    [listing] = [q["sql"] for q in captured if q["sql"].startswith('SELECT "vision_camera"."id"')]
    assert listing.count("griduserobjectpermission") == 1


def test_an_anonymous_user_never_matches_a_restricted_mark():
    from django.contrib.auth.models import AnonymousUser

    from core.restriction import restricted, restricted_to

    assert not restricted_to(Camera.objects.all(), AnonymousUser())
    assert not restricted_to(restricted(Camera.objects.all(), AnonymousUser()), AnonymousUser())

def test_a_flow_series_for_a_visible_camera_only(gql, users, token_for, cameras):
    camera = cameras["mine"]
    rule = CameraRule.objects.create(camera=camera, algorithm=Algorithm.PEOPLE_FLOW)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    FlowSample.objects.bulk_create(FlowSample(rule=rule, interval_start=start + timedelta(minutes=5 * i), count=i)
                                   for i in range(3))
    camera_id = str(relay.GlobalID("Camera", str(camera.pk)))
    series = gql(FLOW, {"id": camera_id}, token=token_for(users["worker"])).data["cameraFlow"]
    assert [point["count"] for point in series] == [0, 1, 2]
    assert gql(FLOW, {"id": camera_id}, token=token_for(users["worker2"])).data["cameraFlow"] == []
    bad = gql("query($id: ID!) { cameraFlow(cameraId: $id, hours: 1000) { count } }", {"id": camera_id},
              token=token_for(users["worker"]))
    assert bad.error_codes == ["invalid_range"]


def test_a_flow_chart_for_the_command_centre_screen(client, users, token_for, cameras):
    from io import BytesIO

    from PIL import Image

    camera = cameras["mine"]
    rule = CameraRule.objects.create(camera=camera, algorithm=Algorithm.PEOPLE_FLOW, params={"threshold": 1})
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    FlowSample.objects.bulk_create(FlowSample(rule=rule, interval_start=start + timedelta(minutes=5 * i), count=i)
                                   for i in range(6))
    camera_id = str(relay.GlobalID("Camera", str(camera.pk)))

    def get(token, **params):
        return client.get("/exports/camera-flow.png", {"camera": camera_id, **params},
                          HTTP_AUTHORIZATION=f"Bearer {token}")

    import warnings

    with warnings.catch_warnings(record=True) as caught:  # in the default language, Chinese
        warnings.simplefilter("always")
        response = get(token_for(users["worker"]))
    assert not [w for w in caught if "missing from font" in str(w.message)]  # no boxes for the title
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    with Image.open(BytesIO(response.content)) as chart:
        assert chart.size == (1920, 1080)
    assert get(token_for(users["worker2"])).status_code == 404  # not their camera
    assert get(token_for(users["worker"]), hours="0").status_code == 400
    assert client.get("/exports/camera-flow.png", {"camera": camera_id}).status_code == 401
    svg = client.get("/exports/camera-flow.svg", {"camera": camera_id},
                     HTTP_AUTHORIZATION=f"Bearer {token_for(users['operator'])}")
    assert svg.status_code == 200 and b"<svg" in svg.content


def test_open_situations_and_their_incidents_cost_the_same_queries_for_one_camera_or_six(
        gql, users, token_for, district, event_categories):

    token = token_for(users["operator"])

    def camera_seeing(n: int) -> None:
        camera = _camera(district.grid, 100 + n)
        case = event_report(reporter=None, source="camera", source_key=f"cam-{n}", category_code="02-05",
                            lng=120.31 + n * 0.002, lat=36.01).event
        Situation.objects.create(rule=camera.rules.get(algorithm=Algorithm.CROWD), camera=camera, event=case,
                                 started_at=timezone.now(), last_seen_at=timezone.now(), peak=5)

    def count() -> int:
        registry_forget()
        with CaptureQueriesContext(connection) as captured:
            answer = gql(CAMERAS, token=token)
        assert not answer.errors
        seen = [s for edge in answer.data["cameras"]["edges"] for s in edge["node"]["openSituations"]]
        assert seen and all(s["event"] is not None for s in seen)
        return len(captured)

    camera_seeing(0)
    one = count()
    for n in range(1, 6):
        camera_seeing(n)
    assert count() == one
