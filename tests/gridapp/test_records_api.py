"""Base records over GraphQL: who sees which, filters, paging, constant query counts, HTTP and websocket."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from strawberry.relay import to_base64

from accounts.services import token_issue
from config.asgi import application
from gridapp.geography.models import BaseRecord
from gridapp.geography.services import industry_coverage_refresh
from tests.factories import GridFactory, IndustryGridFactory

RECORDS = """query($grid: ID, $kind: RecordKind, $bbox: BoundingBoxInput, $search: String, $after: String) {
  records(first: 50, gridId: $grid, kind: $kind, bbox: $bbox, search: $search, after: $after) {
    edges { node { externalId kind kindLabel name address lng lat geometry grid { code community { code street { code } } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def make(external_id, grid, lng, lat, kind="small_shop", name="便利店", address="香港中路1号"):
    return BaseRecord.objects.create(external_id=external_id, kind=kind, name=name, address=address,
                                     lng=lng, lat=lat, grid=grid)


@pytest.fixture
def records(district, urban_department):
    made = {
        "w1": make("R-W1", district.grid, 120.31, 36.01, kind="building", name="1号楼", address="宁夏路8号"),
        "w2": make("R-W2", district.grid, 120.32, 36.02, name="王记便利店"),
        "x1": make("R-X1", district.grid2, 120.36, 36.01, kind="small_restaurant", name="李家面馆"),
        "o1": make("R-O1", district.other_community_grid, 120.41, 36.01, kind="camera", name="路口摄像头"),
    }
    # the urban department's industry grid covers grid2 only
    IndustryGridFactory(lng=120.355, lat=36.00, size=0.04, department=urban_department, code="URB-1")
    industry_coverage_refresh()
    return made


def ids(response) -> list[str]:
    return sorted(edge["node"]["externalId"] for edge in response.data["records"]["edges"])


VISIBLE = {
    "operator": ["R-O1", "R-W1", "R-W2", "R-X1"],
    "admin": ["R-O1", "R-W1", "R-W2", "R-X1"],
    "auditor": ["R-O1", "R-W1", "R-W2", "R-X1"],
    "worker": ["R-W1", "R-W2"],
    "worker2": ["R-X1"],
    "urban": ["R-X1"],
    "citizen": [],
    "business": [],
    "employee": [],
    "parkop": [],
}


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_each_role_lists_exactly_the_records_it_may_see(gql, users, records, token_for, username):
    assert ids(gql(RECORDS, token=token_for(users[username]))) == VISIBLE[username]


def test_worker_cannot_list_records_of_another_workers_grid(gql, users, records, district, token_for):
    token = token_for(users["worker"])
    other_grid = to_base64("Grid", district.grid2.pk)
    assert ids(gql(RECORDS, {"grid": other_grid}, token=token)) == []
    assert ids(gql(RECORDS, {"search": "李家"}, token=token)) == []
    assert gql("query($id: ID!) { node(id: $id) { id } }", {"id": to_base64("BaseRecord", records["x1"].pk)},
               token=token).data["node"] is None


@pytest.mark.django_db(transaction=True)
async def test_worker_cannot_list_records_of_another_workers_grid_over_the_websocket(users, records, district):
    token = await database_sync_to_async(lambda: token_issue(user=users["worker"])[0])()
    communicator = WebsocketCommunicator(application, "/graphql/", subprotocols=["graphql-transport-ws"])
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "connection_ack"
    for op_id, variables in (("all", {}), ("other", {"grid": to_base64("Grid", district.grid2.pk)})):
        await communicator.send_json_to({"id": op_id, "type": "subscribe", "payload": {"query": RECORDS, "variables": variables}})
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "next", message
        found = sorted(edge["node"]["externalId"] for edge in message["payload"]["data"]["records"]["edges"])
        assert found == (["R-W1", "R-W2"] if op_id == "all" else [])
        assert (await communicator.receive_json_from(timeout=5))["type"] == "complete"
    await communicator.disconnect()


def test_filters_by_grid_kind_window_and_text(gql, users, records, district, token_for):
    token = token_for(users["operator"])
    assert ids(gql(RECORDS, {"grid": to_base64("Grid", district.grid.pk)}, token=token)) == ["R-W1", "R-W2"]
    assert ids(gql(RECORDS, {"kind": "CAMERA"}, token=token)) == ["R-O1"]
    window = {"minLng": 120.305, "minLat": 36.005, "maxLng": 120.365, "maxLat": 36.015}
    assert ids(gql(RECORDS, {"bbox": window}, token=token)) == ["R-W1", "R-X1"]
    assert ids(gql(RECORDS, {"search": "便利"}, token=token)) == ["R-W2"]
    assert ids(gql(RECORDS, {"search": "宁夏路"}, token=token)) == ["R-W1"]
    assert ids(gql(RECORDS, {"search": "R-O1"}, token=token)) == ["R-O1"]
    inverted = {"minLng": 120.4, "minLat": 36.0, "maxLng": 120.3, "maxLat": 36.1}
    assert gql(RECORDS, {"bbox": inverted}, token=token).error_codes == ["invalid_bbox"]


def test_a_record_carries_its_map_geometry_and_grid_chain(gql, users, records, district, token_for):
    node = gql(RECORDS, {"search": "R-W1"}, token=token_for(users["worker"])).data["records"]["edges"][0]["node"]
    assert node["geometry"] == {"type": "Point", "coordinates": [120.31, 36.01]}
    assert node["grid"] == {"code": district.grid.code, "community": {
        "code": district.community.code, "street": {"code": district.street.code}}}
    assert node["kind"] == "BUILDING" and node["kindLabel"] in {"Building", "建筑物", "楼宇"}


def test_cursor_paging_walks_every_record_once(gql, users, district, token_for):
    for n in range(7):
        make(f"P-{n}", district.grid, 120.31, 36.01)
    token = token_for(users["operator"])
    query = "query($after: String) { records(first: 3, after: $after) { edges { node { externalId } } pageInfo { hasNextPage endCursor } } }"
    seen, after = [], None
    while True:
        page = gql(query, {"after": after}, token=token).data["records"]
        seen += [edge["node"]["externalId"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"P-{n}" for n in range(7)]


def test_record_list_query_count_is_constant_in_the_result_size(gql, users, district, token_for):
    token = token_for(users["operator"])
    for n in range(3):
        make(f"Q-{n}", district.grid, 120.31, 36.01)
    with CaptureQueriesContext(connection) as few:
        assert len(gql(RECORDS, token=token).data["records"]["edges"]) == 3
    for n in range(3, 40):
        grid = GridFactory(lng=120.30 + n * 0.001, lat=36.2)
        make(f"Q-{n}", grid, 120.30 + n * 0.001, 36.2)
    with CaptureQueriesContext(connection) as many:
        assert len(gql(RECORDS, token=token).data["records"]["edges"]) == 40
    assert len(many) == len(few)


def test_streets_and_communities_carry_counts(gql, users, records, district, token_for):
    query = "{ streets(first: 10) { edges { node { code communityCount gridCount } } } " \
            "communities(first: 10) { edges { node { code gridCount } } } " \
            "grids(first: 10) { edges { node { code recordCount isCurrent } } } }"
    data = gql(query, token=token_for(users["operator"])).data
    assert data["streets"]["edges"] == [{"node": {"code": district.street.code, "communityCount": 2, "gridCount": 3}}]
    assert sorted((e["node"]["code"], e["node"]["gridCount"]) for e in data["communities"]["edges"]) == sorted(
        [(district.community.code, 2), (district.other_community_grid.community.code, 1)])
    counts = {e["node"]["code"]: e["node"]["recordCount"] for e in data["grids"]["edges"]}
    assert counts == {district.grid.code: 2, district.grid2.code: 1, district.other_community_grid.code: 1}


def test_a_grid_page_lists_its_workers_with_a_constant_number_of_queries(gql, users, district, token_for):
    query = "{ grids(first: 50) { edges { node { code workers { username displayName } } } } }"
    token = token_for(users["operator"])
    with CaptureQueriesContext(connection) as few:
        data = gql(query, token=token).data["grids"]["edges"]
    workers = {edge["node"]["code"]: [w["username"] for w in edge["node"]["workers"]] for edge in data}
    assert workers == {district.grid.code: ["worker"], district.grid2.code: ["worker2"],
                       district.other_community_grid.code: []}
    for n in range(20):
        GridFactory(lng=120.5 + n * 0.01, lat=36.3)
    with CaptureQueriesContext(connection) as many:
        assert len(gql(query, token=token).data["grids"]["edges"]) == 23
    assert len(many) == len(few)


def test_street_and_community_lists_have_a_constant_query_count(gql, users, district, token_for):
    from tests.factories import CommunityFactory, StreetFactory

    query = "{ streets(first: 50) { edges { node { code communityCount gridCount } } } " \
            "communities(first: 50) { edges { node { code gridCount street { code } } } } }"
    token = token_for(users["operator"])
    with CaptureQueriesContext(connection) as few:
        gql(query, token=token)
    for n in range(12):
        street = StreetFactory(lng=121 + n, lat=37)
        GridFactory(community=CommunityFactory(street=street, lng=121 + n, lat=37), lng=121 + n, lat=37)
    with CaptureQueriesContext(connection) as many:
        data = gql(query, token=token).data
    assert len(data["streets"]["edges"]) == 13 and len(data["communities"]["edges"]) == 14
    assert len(many) == len(few)


def test_my_grids_carry_counts_and_workers(gql, users, records, district, token_for):
    query = "{ me { grids { code recordCount workers { username } } } }"
    data = gql(query, token=token_for(users["worker"])).data
    assert data == {"me": {"grids": [{"code": district.grid.code, "recordCount": 2, "workers": [{"username": "worker"}]}]}}


def test_counts_and_workers_resolve_on_objects_outside_the_optimizer(gql, users, records, district, token_for):
    """A mutation payload's nested grid is loaded without the optimizer: the counted fields still answer."""
    mutation = ('mutation($g: ID!) { postGridNotice(input: {gridId: $g, title: "通知"}) { errors { code } '
                "notice { grid { code recordCount workers { username } community { gridCount street { gridCount communityCount } } } } } }")
    payload = gql(mutation, {"g": to_base64("Grid", district.grid.pk)}, token=token_for(users["operator"])).data
    grid = payload["postGridNotice"]["notice"]["grid"]
    assert grid == {"code": district.grid.code, "recordCount": 2, "workers": [{"username": "worker"}],
                    "community": {"gridCount": 2, "street": {"gridCount": 3, "communityCount": 2}}}
