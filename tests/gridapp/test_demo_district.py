"""The demo district as pure geometry: 10 streets, 50 communities, 600 grids that tile it exactly."""

from __future__ import annotations

import pytest
import shapely
import shapely.geometry
from shapely.ops import unary_union

from gridapp.geography.demo import CENTRE_LAT, CENTRE_LNG, build_district, district_outline
from gridapp.geography.geometry import polygon_area_m2

TOLERANCE_DEG = 1e-9  # about 0.1 mm: only floating-point noise on shared edges


@pytest.fixture(scope="module")
def district():
    return build_district()


def communities_of(district):
    return [community for street in district for community in street.children]


def grids_of(district):
    return [grid for community in communities_of(district) for grid in community.children]


def test_ten_streets_fifty_communities_six_hundred_grids(district):
    assert len(district) == 10
    assert [len(street.children) for street in district] == [5] * 10
    assert [len(community.children) for community in communities_of(district)] == [12] * 50
    assert len(grids_of(district)) == 600


def test_every_cell_is_one_valid_polygon(district):
    cells = [*district, *communities_of(district), *grids_of(district)]
    assert {cell.polygon.geom_type for cell in cells} == {"Polygon"}
    assert all(cell.polygon.is_valid and not cell.polygon.is_empty for cell in cells)


def test_grids_tile_the_outline_with_no_gap_and_no_overlap(district):
    outline = district_outline()
    grid_polygons = [grid.polygon for grid in grids_of(district)]
    union = unary_union(grid_polygons)
    # no gap: the union is the outline (same area and nothing left over on either side)
    assert union.area == pytest.approx(outline.area, rel=1e-9)
    assert union.symmetric_difference(outline).area <= outline.area * 1e-9
    # no overlap: the areas add up to the union's area
    assert sum(polygon.area for polygon in grid_polygons) == pytest.approx(outline.area, rel=1e-9)


@pytest.mark.parametrize("level", ["streets", "communities"])
def test_upper_levels_also_tile_the_outline(district, level):
    outline = district_outline()
    cells = district if level == "streets" else communities_of(district)
    polygons = [cell.polygon for cell in cells]
    assert unary_union(polygons).area == pytest.approx(outline.area, rel=1e-9)
    assert sum(polygon.area for polygon in polygons) == pytest.approx(outline.area, rel=1e-9)


def test_every_grid_lies_in_its_community_and_every_community_in_its_street(district):
    outline = district_outline().buffer(TOLERANCE_DEG)
    for street in district:
        assert street.polygon.within(outline), street.code
        street_area = street.polygon.buffer(TOLERANCE_DEG)
        for community in street.children:
            assert community.polygon.within(street_area), community.code
            community_area = community.polygon.buffer(TOLERANCE_DEG)
            for grid in community.children:
                assert grid.polygon.within(community_area), grid.code


def test_children_fill_their_parent(district):
    for street in district:
        assert sum(c.polygon.area for c in street.children) == pytest.approx(street.polygon.area, rel=1e-9)
        for community in street.children:
            assert sum(g.polygon.area for g in community.children) == pytest.approx(community.polygon.area, rel=1e-9)


def test_codes_are_unique_and_name_their_parents(district):
    codes = [cell.code for cell in [*district, *communities_of(district), *grids_of(district)]]
    assert len(codes) == len(set(codes)) == 660
    for street in district:
        for community in street.children:
            assert community.code.startswith(f"{street.code}-C")
            for grid in community.children:
                assert grid.code.startswith(f"{community.code}-G")
    assert district[0].children[0].children[0].code == "S01-C01-G01"


def test_district_is_centred_on_qingdao_shinan(district):
    centroid = unary_union([street.polygon for street in district]).centroid
    assert centroid.y == pytest.approx(36.06, abs=0.01)
    assert centroid.x == pytest.approx(120.38, abs=0.01)
    assert (CENTRE_LAT, CENTRE_LNG) == (36.06, 120.38)
    # GeoJSON order is (lng, lat): the first coordinate of every grid is a longitude near 120
    ring = grids_of(district)[0].geojson["coordinates"][0]
    assert all(120.2 < lng < 120.5 and 35.9 < lat < 36.2 for lng, lat in ring)


def test_building_twice_gives_identical_geometry(district):
    again = build_district()
    first_cells = [*district, *communities_of(district), *grids_of(district)]
    second_cells = [*again, *communities_of(again), *grids_of(again)]
    assert [c.code for c in first_cells] == [c.code for c in second_cells]
    assert [c.name for c in first_cells] == [c.name for c in second_cells]
    assert all(shapely.equals_exact(a.polygon, b.polygon, tolerance=0) for a, b in zip(first_cells, second_cells, strict=True))


def test_another_seed_gives_another_layout(district):
    other = build_district(seed=7)
    assert not shapely.equals_exact(grids_of(other)[0].polygon, grids_of(district)[0].polygon, tolerance=1e-6)


def test_grid_areas_are_positive_and_plausible(district):
    areas = [grid.area_m2 for grid in grids_of(district)]
    assert all(10_000 < area < 2_000_000 for area in areas), (min(areas), max(areas))
    # the district is an octagon of about 15 km by 9 km: some 117 km², which the grids add up to
    outline_m2 = polygon_area_m2(district_outline())
    assert 100e6 < outline_m2 < 130e6
    assert sum(areas) == pytest.approx(outline_m2, rel=1e-6)


def test_cell_bbox_and_geojson_describe_the_polygon(district):
    grid = grids_of(district)[0]
    assert grid.bbox == grid.polygon.bounds
    assert shapely.geometry.shape(grid.geojson).equals(grid.polygon)
