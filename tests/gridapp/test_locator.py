"""Locating coordinates: the raster index against exact geometry, reference systems, borders, versions."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from strawberry.relay import to_base64

from gridapp.geography.crs import CRS, from_wgs84
from gridapp.geography.demo import build_district, district_outline
from gridapp.geography.locator import OUTSIDE, Layer, locator_reset
from gridapp.geography.models import BaseRecord, Grid
from gridapp.geography.services import boundaries_redraw, industry_coverage_refresh
from tests.factories import IndustryGridFactory

LOCATE = """query($lat: Float!, $lng: Float!, $crs: CoordinateSystem!) {
  locate(lat: $lat, lng: $lng, crs: $crs) {
    lng lat generation grid { id code } community { code } street { code } industry { departmentCode industryGridCode }
  }
}"""


@pytest.fixture(autouse=True)
def fresh_locator(settings):
    settings.LOCATOR_CHECK_SECONDS = 0
    locator_reset()
    yield
    locator_reset()


@pytest.fixture(scope="module")
def demo_layer():
    grids = [grid for street in build_district() for community in street.children for grid in community.children]
    return grids, Layer([g.polygon for g in grids], [g.code for g in grids])


def naive(grids, x, y) -> int:
    """The baseline: every polygon, closed, lowest code wins."""
    hits = [i for i, g in enumerate(grids) if shapely.intersects_xy(g.polygon, x, y)]
    return min(hits, key=lambda i: grids[i].code) if hits else OUTSIDE


def test_single_and_bulk_lookups_agree_with_exact_geometry(demo_layer):
    grids, layer = demo_layer
    rng = np.random.default_rng(5)
    min_x, min_y, max_x, max_y = district_outline().bounds
    xs = rng.uniform(min_x - 0.01, max_x + 0.01, 3000)
    ys = rng.uniform(min_y - 0.01, max_y + 0.01, 3000)
    expected = [naive(grids, x, y) for x, y in zip(xs, ys, strict=True)]
    assert [layer.locate(x, y) for x, y in zip(xs, ys, strict=True)] == expected
    assert layer.locate_many(xs, ys).tolist() == expected
    assert OUTSIDE in expected and len(set(expected)) > 500


def test_points_on_shared_borders_and_vertices_follow_the_lowest_code_rule(demo_layer):
    grids, layer = demo_layer
    xs, ys = [], []
    for grid in grids[:80]:
        coords = np.asarray(grid.polygon.exterior.coords)
        xs += list(coords[:, 0]) + list((coords[:-1, 0] + coords[1:, 0]) / 2)
        ys += list(coords[:, 1]) + list((coords[:-1, 1] + coords[1:, 1]) / 2)
    expected = [naive(grids, x, y) for x, y in zip(xs, ys, strict=True)]
    assert [layer.locate(x, y) for x, y in zip(xs, ys, strict=True)] == expected
    assert layer.locate_many(np.array(xs), np.array(ys)).tolist() == expected


def test_points_a_hair_from_an_edge_get_the_exact_answer(demo_layer):
    """Line cells answer by the side of an edge; a point too close to call is tested exactly, so nothing changes."""
    grids, layer = demo_layer
    assert len(layer.lines) > 0.9 * len(layer.candidates)  # most mixed cells are answered without geometry
    rng = np.random.default_rng(8)
    xs, ys = [], []
    for grid in grids[::7]:
        coords = np.asarray(grid.polygon.exterior.coords)
        for (ax, ay), (bx, by) in zip(coords[:-1], coords[1:], strict=True):
            t = rng.uniform(0.05, 0.95)
            nx, ny = by - ay, ax - bx  # a normal of the edge
            for offset in (1e-16, -1e-16, 1e-13, -1e-13, 1e-9, -1e-9):
                xs.append(ax + t * (bx - ax) + offset * nx)
                ys.append(ay + t * (by - ay) + offset * ny)
    expected = [naive(grids, x, y) for x, y in zip(xs, ys, strict=True)]
    assert [layer.locate(x, y) for x, y in zip(xs, ys, strict=True)] == expected
    assert layer.locate_many(np.array(xs), np.array(ys)).tolist() == expected


def test_many_points_are_located_in_chunks_side_by_side_with_the_same_answers(demo_layer, monkeypatch):
    import gridapp.geography.locator as locator

    grids, layer = demo_layer
    rng = np.random.default_rng(9)
    min_x, min_y, max_x, max_y = district_outline().bounds
    xs = rng.uniform(min_x - 0.01, max_x + 0.01, 4000)
    ys = rng.uniform(min_y - 0.01, max_y + 0.01, 4000)
    xs[::97], ys[::89] = np.nan, np.inf
    alone = layer.locate_many(xs, ys)
    monkeypatch.setattr(locator, "PARALLEL_CHUNK", 300)
    monkeypatch.setattr(locator, "_workers", lambda: 2)
    assert layer.locate_many(xs, ys).tolist() == alone.tolist()
    assert alone.tolist() == [naive(grids, x, y) if np.isfinite(x) and np.isfinite(y) else OUTSIDE
                              for x, y in zip(xs, ys, strict=True)]


def test_nan_and_far_away_points_are_outside(demo_layer):
    _grids, layer = demo_layer
    assert layer.locate_many(np.array([np.nan, 0.0, 121.5]), np.array([36.06, np.nan, 31.2])).tolist() == [-1, -1, -1]
    assert layer.locate(121.47, 31.23) == OUTSIDE  # Shanghai


def test_a_gcj02_point_and_its_wgs84_twin_land_in_the_same_grid(gql, users, district, token_for):
    token = token_for(users["operator"])
    wgs_lng, wgs_lat = 120.3251, 36.0212
    gcj_lng, gcj_lat = from_wgs84(wgs_lng, wgs_lat, CRS.GCJ02)
    bd_lng, bd_lat = from_wgs84(wgs_lng, wgs_lat, CRS.BD09)
    as_wgs = gql(LOCATE, {"lat": wgs_lat, "lng": wgs_lng, "crs": "WGS84"}, token=token).data["locate"]
    as_gcj = gql(LOCATE, {"lat": gcj_lat, "lng": gcj_lng, "crs": "GCJ02"}, token=token).data["locate"]
    as_bd = gql(LOCATE, {"lat": bd_lat, "lng": bd_lng, "crs": "BD09"}, token=token).data["locate"]
    assert as_wgs["grid"]["code"] == as_gcj["grid"]["code"] == as_bd["grid"]["code"] == district.grid.code
    assert abs(as_gcj["lng"] - wgs_lng) < 1e-7 and abs(as_gcj["lat"] - wgs_lat) < 1e-7
    # read as WGS-84 by mistake, the GCJ-02 coordinates are ~500 m off: the reference system matters
    assert abs(gcj_lng - wgs_lng) * 90_000 + abs(gcj_lat - wgs_lat) * 111_000 > 300


def test_locate_names_community_street_and_each_departments_industry_grid(gql, users, district, token_for):
    IndustryGridFactory(lng=120.30, lat=36.00, size=0.04, department__code="sanitation", code="SAN-1")
    IndustryGridFactory(lng=120.34, lat=36.00, size=0.04, department__code="sanitation", code="SAN-2")
    IndustryGridFactory(lng=120.30, lat=36.00, size=0.2, department__code="market", code="MKT-1")
    result = gql(LOCATE, {"lat": 36.01, "lng": 120.31, "crs": "WGS84"}, token=token_for(users["citizen"])).data["locate"]
    assert result["grid"] == {"id": to_base64("Grid", district.grid.pk), "code": district.grid.code}
    assert result["community"] == {"code": district.community.code}
    assert result["street"] == {"code": district.street.code}
    assert sorted((hit["departmentCode"], hit["industryGridCode"]) for hit in result["industry"]) == [
        ("market", "MKT-1"), ("sanitation", "SAN-1")]


LOCATE_IDS = """query($lat: Float!, $lng: Float!) { locate(lat: $lat, lng: $lng, crs: WGS84) {
  grid { id } community { id } street { id } industry { industryGridId industryGridCode } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"

EVERYTHING = {"grid", "community", "street", "URB-1", "MKT-1"}
#: Which of the ids in a locate answer for a point in ``district.grid`` each role may open: the grid,
#: community and street as their rules say; an industry grid as a basic grid (the district and department
#: staff all, a grid worker the zones over their grids: URB-1 covers ``district.grid``, MKT-1 both grids).
RESOLVES = {
    "admin": EVERYTHING,
    "operator": EVERYTHING,
    "auditor": EVERYTHING,
    "urban": EVERYTHING,
    "worker": EVERYTHING,
    "worker2": {"community", "street", "MKT-1"},
    "citizen": set(),
    "business": set(),
    "employee": set(),
    "parkop": set(),
}


@pytest.mark.parametrize("username", sorted(RESOLVES))
def test_every_id_locate_hands_out_resolves_through_node_for_a_viewer_who_may_see_it(
        gql, users, district, token_for, username):
    IndustryGridFactory(lng=120.30, lat=36.00, size=0.04, department=users["urban"].department, code="URB-1")
    IndustryGridFactory(lng=120.30, lat=36.00, size=0.2, department__code="market", code="MKT-1")
    industry_coverage_refresh()
    token = token_for(users[username])
    answer = gql(LOCATE_IDS, {"lat": 36.01, "lng": 120.31}, token=token).data["locate"]
    ids = {name: answer[name]["id"] for name in ("grid", "community", "street")}
    ids.update((hit["industryGridCode"], hit["industryGridId"]) for hit in answer["industry"])
    assert set(ids) == EVERYTHING
    opened = set()
    for name, global_id in ids.items():
        response = gql(NODE, {"id": global_id}, token=token)
        assert response.errors == [], (name, response.errors)
        if response.data["node"] is not None:
            assert response.data["node"] == {"id": global_id}
            opened.add(name)
    assert opened == RESOLVES[username]


def test_an_industry_grid_opens_with_its_details_for_those_who_see_it(gql, users, district, token_for):
    zone = IndustryGridFactory(lng=120.30, lat=36.00, size=0.04, department=users["urban"].department, code="URB-1")
    industry_coverage_refresh()
    zone.refresh_from_db()
    query = "query($id: ID!) { node(id: $id) { ... on IndustryGrid { code departmentCode boundary } } }"
    found = gql(query, {"id": to_base64("IndustryGrid", zone.pk)}, token=token_for(users["worker"])).data["node"]
    assert found == {"code": "URB-1", "departmentCode": "urban", "boundary": zone.boundary}
    assert gql(query, {"id": to_base64("IndustryGrid", zone.pk)},
               token=token_for(users["worker2"])).data["node"] is None


def test_a_point_on_the_border_of_two_grids_goes_to_the_lower_code(gql, users, district, token_for):
    # district.grid spans lng 120.30-120.35, district.grid2 120.35-120.40: x = 120.35 is their shared edge
    lower = min(district.grid.code, district.grid2.code)
    result = gql(LOCATE, {"lat": 36.02, "lng": 120.35, "crs": "WGS84"}, token=token_for(users["operator"]))
    assert result.data["locate"]["grid"]["code"] == lower


@pytest.mark.parametrize("lat,lng,code", [
    (36.02, 121.5, "outside_district"),
    (91.0, 120.3, "invalid_coordinates"),
    (36.0, -181.0, "invalid_coordinates"),
])
def test_bad_points_are_typed_errors_not_nulls(gql, users, district, token_for, lat, lng, code):
    response = gql(LOCATE, {"lat": lat, "lng": lng, "crs": "WGS84"}, token=token_for(users["worker"]))
    assert response.data is None and response.error_codes == [code]


def test_an_unknown_reference_system_is_refused_by_the_schema(gql, users, district, token_for):
    response = gql(LOCATE, {"lat": 36.02, "lng": 120.31, "crs": "EPSG3857"}, token=token_for(users["worker"]))
    assert response.data is None and response.errors


def test_locate_needs_a_token(gql, district):
    assert gql(LOCATE, {"lat": 36.02, "lng": 120.31, "crs": "WGS84"}).error_codes == ["unauthenticated"]


def test_a_redrawn_grid_keeps_old_records_on_the_old_version(gql, users, district, token_for):
    old = district.grid
    before = BaseRecord.objects.create(external_id="B-1", kind="building", name="旧楼", lng=120.345, lat=36.02, grid=old)
    token = token_for(users["operator"])
    assert gql(LOCATE, {"lat": 36.02, "lng": 120.345, "crs": "WGS84"}, token=token).data["locate"]["grid"]["code"] == old.code
    # the grid shrinks to 120.30-120.34; its neighbour grows to 120.34-120.40
    shrunk = {"type": "Polygon", "coordinates": [[[120.30, 36.00], [120.34, 36.00], [120.34, 36.05], [120.30, 36.05], [120.30, 36.00]]]}
    grown = {"type": "Polygon", "coordinates": [[[120.34, 36.00], [120.40, 36.00], [120.40, 36.05], [120.34, 36.05], [120.34, 36.00]]]}
    new_grid, new_neighbour = boundaries_redraw(actor=users["operator"], changes={old.code: shrunk, district.grid2.code: grown},
                                                description="redraw test")
    before.refresh_from_db()
    old.refresh_from_db()
    assert before.grid_id == old.pk and old.generation_high_id == new_grid.generation_low_id
    assert Grid.objects.current().get(code=old.code) == new_grid != old
    located = gql(LOCATE, {"lat": 36.02, "lng": 120.345, "crs": "WGS84"}, token=token).data["locate"]
    assert located["grid"]["code"] == district.grid2.code and located["generation"] == new_grid.generation_low_id
    # the grid worker kept their grid across the redraw, and still sees the record of the old version
    worker = gql("{ me { grids { code isCurrent } } }", token=token_for(users["worker"])).data["me"]["grids"]
    assert worker == [{"code": old.code, "isCurrent": True}]
    seen = gql("{ records(first: 10) { edges { node { externalId grid { code isCurrent } } } } }",
               token=token_for(users["worker"])).data["records"]["edges"]
    assert seen == [{"node": {"externalId": "B-1", "grid": {"code": old.code, "isCurrent": False}}}]
    assert shape(new_neighbour.boundary).contains(shapely.Point(120.345, 36.02))


def test_a_redraw_needs_the_command_centre_and_a_valid_polygon(users, district):
    from django.core.exceptions import PermissionDenied, ValidationError

    square = {"type": "Polygon", "coordinates": [[[120.30, 36.00], [120.34, 36.00], [120.34, 36.05], [120.30, 36.00]]]}
    with pytest.raises(PermissionDenied):
        boundaries_redraw(actor=users["worker"], changes={district.grid.code: square}, description="x")
    bow_tie = {"type": "Polygon", "coordinates": [[[120.30, 36.00], [120.34, 36.05], [120.34, 36.00], [120.30, 36.05], [120.30, 36.00]]]}
    with pytest.raises(ValidationError) as error:
        boundaries_redraw(actor=users["operator"], changes={district.grid.code: bow_tie}, description="x")
    assert error.value.code == "invalid_geometry"
    with pytest.raises(ValidationError) as error:
        boundaries_redraw(actor=users["operator"], changes={"NOPE": square}, description="x")
    assert error.value.code == "not_found"
    assert Grid.objects.current().get(code=district.grid.code).pk == district.grid.pk


def test_global_ids_of_other_types_are_refused(gql, users, district, token_for):
    response = gql("query($g: ID!) { records(first: 5, gridId: $g) { edges { node { id } } } }",
                   {"g": to_base64("Street", district.street.pk)}, token=token_for(users["operator"]))
    assert response.error_codes == ["invalid_id"]
