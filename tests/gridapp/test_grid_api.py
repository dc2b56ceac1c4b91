"""Grids through the real schema over HTTP: who sees which grid, notices to a grid, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from strawberry.relay import to_base64

from accounts.models import Role
from gridapp.geography.models import GridNotice
from tests.factories import DepartmentFactory, GridFactory, UserFactory

GRIDS = "{ grids(first: 100) { totalCount edges { node { id code } } } }"
GRID = "query($id: ID!) { grid(id: $id) { id code name community { code street { code } } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename ... on Grid { code } } }"
POST_NOTICE = """mutation($grid: ID!, $title: String!, $body: String! = "") {
  postGridNotice(input: {gridId: $grid, title: $title, body: $body}) {
    errors { code field message } notice { id title body grid { code } }
  }
}"""
GRID_LIST = "{ grids(first: 50) { edges { node { code name community { name street { name } } } } } }"

WHOLE_DISTRICT = ["operator", "admin", "auditor", "urban"]
NO_GRIDS = ["citizen", "business", "employee", "parkop"]


def gid(obj) -> str:
    return to_base64(type(obj).__name__, obj.pk)


def all_codes(district) -> set[str]:
    return {district.grid.code, district.grid2.code, district.other_community_grid.code}


def grid_codes(gql, token) -> list[str]:
    response = gql(GRIDS, token=token)
    assert response.errors == [], response.errors
    connection_ = response.data["grids"]
    codes = [edge["node"]["code"] for edge in connection_["edges"]]
    assert connection_["totalCount"] == len(codes)
    return codes


# --- the grids connection -----------------------------------------------------------------


@pytest.mark.parametrize("username", WHOLE_DISTRICT)
def test_district_wide_roles_and_department_staff_see_every_grid(gql, users, district, token_for, username):
    codes = grid_codes(gql, token_for(users[username]))
    assert codes == sorted(all_codes(district))


@pytest.mark.parametrize("username,grid_attr", [("worker", "grid"), ("worker2", "grid2")])
def test_a_grid_worker_sees_only_their_own_grid(gql, users, district, token_for, username, grid_attr):
    assert grid_codes(gql, token_for(users[username])) == [getattr(district, grid_attr).code]


@pytest.mark.parametrize("username", NO_GRIDS)
def test_citizens_businesses_and_park_people_see_no_grid(gql, users, district, token_for, username):
    assert grid_codes(gql, token_for(users[username])) == []


def test_a_park_operator_in_the_park_operations_department_still_sees_no_grid(gql, users, district, token_for):
    # the demo account `parkop` belongs to the "parks" department (see seed_demo)
    parks = DepartmentFactory(code="parks", name="园区运营中心", name_en="Business Park Operations Centre")
    parkop = UserFactory(username="parkop_in_dept", role=Role.PARK_OPERATOR, department=parks)
    assert grid_codes(gql, token_for(parkop)) == []
    assert gql(GRID, {"id": gid(district.grid)}, token=token_for(parkop)).data["grid"] is None


def test_a_deactivated_worker_sees_nothing(gql, users, district, token_for):
    token = token_for(users["worker"])
    users["worker"].is_active = False
    users["worker"].save()
    response = gql(GRIDS, token=token)
    assert response.status == 401
    assert not (response.data or {}).get("grids")


@pytest.mark.parametrize("query,field", [(GRIDS, "grids"), (GRID, "grid"), (NODE, "node")])
def test_anonymous_gets_unauthenticated(gql, users, district, query, field):
    response = gql(query, {"id": gid(district.grid)} if query != GRIDS else None)
    assert "unauthenticated" in response.error_codes
    assert not (response.data or {}).get(field)


# --- one grid by id -----------------------------------------------------------------------


def test_grid_global_id_is_relay_base64_of_grid_and_pk(gql, users, district, token_for):
    edges = gql(GRIDS, token=token_for(users["worker"])).data["grids"]["edges"]
    assert edges == [{"node": {"id": to_base64("Grid", district.grid.pk), "code": district.grid.code}}]


@pytest.mark.parametrize("username", WHOLE_DISTRICT)
def test_district_wide_roles_fetch_any_grid_by_id(gql, users, district, token_for, username):
    token = token_for(users[username])
    for grid in (district.grid, district.grid2, district.other_community_grid):
        data = gql(GRID, {"id": gid(grid)}, token=token).data["grid"]
        assert data["id"] == gid(grid) and data["code"] == grid.code
        assert data["community"]["code"] == grid.community.code
        assert data["community"]["street"]["code"] == district.street.code
        assert gql(NODE, {"id": gid(grid)}, token=token).data["node"] == {"__typename": "Grid", "code": grid.code}


def test_a_worker_fetches_their_grid_with_its_community_and_street(gql, users, district, token_for):
    token = token_for(users["worker"])
    data = gql(GRID, {"id": gid(district.grid)}, token=token).data["grid"]
    assert data == {"id": gid(district.grid), "code": district.grid.code, "name": district.grid.name,
                    "community": {"code": district.community.code, "street": {"code": district.street.code}}}
    assert gql(NODE, {"id": gid(district.grid)}, token=token).data["node"] == {
        "__typename": "Grid", "code": district.grid.code}


@pytest.mark.parametrize("query,field", [(GRID, "grid"), (NODE, "node")])
@pytest.mark.parametrize("username,other_attr", [
    ("worker", "grid2"), ("worker2", "grid"), ("worker", "other_community_grid"),
])
def test_a_worker_gets_null_for_another_workers_grid(gql, users, district, token_for, query, field, username,
                                                     other_attr):
    response = gql(query, {"id": gid(getattr(district, other_attr))}, token=token_for(users[username]))
    assert response.errors == []
    assert response.data == {field: None}


@pytest.mark.parametrize("query,field", [(GRID, "grid"), (NODE, "node")])
@pytest.mark.parametrize("username", NO_GRIDS)
def test_roles_without_grids_get_null_by_id(gql, users, district, token_for, query, field, username):
    response = gql(query, {"id": gid(district.grid)}, token=token_for(users[username]))
    assert response.data == {field: None}


def test_a_grid_that_does_not_exist_is_null(gql, users, district, token_for):
    response = gql(GRID, {"id": to_base64("Grid", 999_999)}, token=token_for(users["operator"]))
    assert response.data == {"grid": None}


# --- postGridNotice -----------------------------------------------------------------------


def post_notice(gql, token, grid_id, title="台风预警", body="请检查辖区广告牌。"):
    response = gql(POST_NOTICE, {"grid": grid_id, "title": title, "body": body}, token=token)
    assert response.errors == [], response.errors
    return response.data["postGridNotice"]


def test_operator_posts_a_notice_to_a_grid(gql, users, district, token_for):
    payload = post_notice(gql, token_for(users["operator"]), gid(district.grid), title="  台风预警  ")
    assert payload["errors"] == []
    assert payload["notice"]["title"] == "台风预警"
    assert payload["notice"]["grid"] == {"code": district.grid.code}
    notice = GridNotice.objects.get()
    assert (notice.grid, notice.author, notice.title) == (district.grid, users["operator"], "台风预警")
    assert payload["notice"]["id"] == to_base64("GridNotice", notice.pk)


@pytest.mark.parametrize("username", ["worker", "urban"])
def test_a_worker_or_department_staff_may_not_post_a_notice(gql, users, district, token_for, username):
    payload = post_notice(gql, token_for(users[username]), gid(district.grid))
    assert [error["code"] for error in payload["errors"]] == ["permission_denied"]
    assert payload["notice"] is None
    assert not GridNotice.objects.exists()


@pytest.mark.parametrize("username", ["citizen", "parkop"])
def test_someone_who_cannot_see_the_grid_gets_not_found(gql, users, district, token_for, username):
    payload = post_notice(gql, token_for(users[username]), gid(district.grid))
    assert [error["code"] for error in payload["errors"]] == ["not_found"]
    assert not GridNotice.objects.exists()


def test_anonymous_may_not_post_a_notice(gql, users, district):
    response = gql(POST_NOTICE, {"grid": gid(district.grid), "title": "x"})
    assert "unauthenticated" in response.error_codes
    assert not GridNotice.objects.exists()


@pytest.mark.parametrize("title", ["", "   "])
def test_an_empty_title_is_required(gql, users, district, token_for, title):
    payload = post_notice(gql, token_for(users["operator"]), gid(district.grid), title=title)
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [("required", "title")]
    assert payload["notice"] is None
    assert not GridNotice.objects.exists()


def test_an_oversized_title_is_too_long(gql, users, district, token_for):
    payload = post_notice(gql, token_for(users["operator"]), gid(district.grid), title="长" * 121)
    assert [error["code"] for error in payload["errors"]] == ["too_long"]
    assert not GridNotice.objects.exists()


@pytest.mark.parametrize("grid_id", [
    to_base64("Grid", 999_999),
    to_base64("Street", 1),
    to_base64("Grid", "abc"),
])
def test_a_grid_id_that_names_no_grid_is_not_found(gql, users, district, token_for, grid_id):
    payload = post_notice(gql, token_for(users["operator"]), grid_id)
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [("not_found", "gridId")]
    assert payload["notice"] is None
    assert not GridNotice.objects.exists()


# --- query count --------------------------------------------------------------------------


def count_queries(gql, token) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = gql(GRID_LIST, token=token)
    assert response.errors == [], response.errors
    edges = response.data["grids"]["edges"]
    assert all(edge["node"]["community"]["street"]["name"] for edge in edges)
    return len(captured), len(edges)


def test_the_grid_list_costs_the_same_queries_for_3_or_40_grids(gql, users, district, token_for):
    token = token_for(users["operator"])
    gql(GRID_LIST, token=token)  # warm up whatever a first request per token does once
    small, small_rows = count_queries(gql, token)
    # each extra grid in its own community in its own street: a per-row lookup would show
    GridFactory.create_batch(37)
    large, large_rows = count_queries(gql, token)
    assert (small_rows, large_rows) == (3, 40)
    assert large == small
