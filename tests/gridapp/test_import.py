"""District-scale import: base records (CSV, GeoJSON) and boundaries, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation
from shapely.geometry import box, mapping

from accounts.models import Role
from gridapp.geography.crs import CRS, wgs84_to_bd09, wgs84_to_gcj02
from gridapp.geography.importer import (
    ImportReport,
    boundaries_load,
    read_records_csv,
    read_records_geojson,
    records_load,
)
from gridapp.geography.importer import postgres as importer_postgres
from gridapp.geography.importer import records as importer_records
from gridapp.geography.locator import district_locator, locator_reset
from gridapp.geography.models import (
    BaseRecord,
    Community,
    Generation,
    Grid,
    GridUserObjectPermission,
    IndustryGrid,
    Street,
)
from gridapp.geography.services import grid_assign_worker
from tests.factories import CommunityFactory, DepartmentFactory, GridFactory, StreetFactory, UserFactory

LNG0, LAT0, SIZE = 120.30, 36.00, 0.01
HEADER = "external_id,kind,name,address,lng,lat,crs,floor\n"


@pytest.fixture(autouse=True)
def english():
    # The reasons below are checked in English; test_csv_rejects_are_in_chinese_by_default checks the default.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def fresh_locator():
    # Test databases roll back, so a generation id can come back with other grids: never trust a cached locator.
    locator_reset()
    yield
    locator_reset()


@pytest.fixture
def tiny(db) -> dict[str, Grid]:
    """A street and a community holding 2x2 grids of 0.01 degrees: G00 (south-west) .. G11 (north-east)."""
    generation = Generation.objects.create(description="tiny district")
    street = StreetFactory(code="S1", lng=LNG0, lat=LAT0, size=2 * SIZE, generation_low=generation)
    community = CommunityFactory(code="C1", street=street, lng=LNG0, lat=LAT0, size=2 * SIZE,
                                 generation_low=generation)
    return {
        f"G{col}{row}": GridFactory(code=f"G{col}{row}", community=community, lng=LNG0 + col * SIZE,
                                    lat=LAT0 + row * SIZE, size=SIZE, generation_low=generation)
        for col in (0, 1) for row in (0, 1)
    }


def write_csv(path: Path, text: str, *, bom: bool = True) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def load_csv(path: Path, **kwargs) -> tuple[ImportReport, list]:
    batches, read_rejects = read_records_csv(path, **kwargs)
    report = records_load(batches)
    return report, read_rejects


def grid_codes() -> dict[str, str]:
    return dict(BaseRecord.objects.values_list("external_id", "grid__code"))


GOOD_AND_BAD = (
    HEADER
    + "R1,building,一号楼,香港中路1号,120.305,36.005,WGS84,3\n"  # line 2: G00
    + "R2,small_shop,小卖部,,120.315,36.005,,\n"  # line 3: G10
    + "R3,small_clinic,诊所,,120.305,36.015,gps,\n"  # line 4: G01
    + "BADCOORD,building,坏坐标,,abc,36.005,,\n"  # line 5
    + "OUTSIDE,building,区外,,120.500,36.500,,\n"  # line 6
    + "NONAME,building,,,120.305,36.005,,\n"  # line 7
    + "BADBYTES,building,@@,,120.305,36.005,,\n"  # line 8: @@ becomes bytes that are not UTF-8
    + "BADKIND,spaceship,飞船,,120.305,36.005,,\n"  # line 9
    + "BADCRS,building,墨卡托,,120.305,36.005,EPSG:3857,\n"  # line 10
    + "R1,building,重复,,120.315,36.015,,\n"  # line 11: duplicate of line 2
    + "R4,camera,摄像头,,120.315,36.015,,\n"  # line 12: G11
)
EXPECTED_REJECTS = {
    5: "lng 'abc' is not a number",
    6: "outside the district",
    7: "name is missing",
    8: "not valid UTF-8 (bytes 0xff 0xfe)",
    9: "unknown kind 'spaceship'",
    10: "'EPSG:3857'",
    11: "duplicate external_id 'R1' (first at line 2)",
}


def good_and_bad_csv(tmp_path: Path) -> Path:
    path = tmp_path / "records.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_AND_BAD.encode().replace(b"@@", b"\xff\xfe"))
    return path


def test_csv_imports_the_good_rows_and_rejects_each_bad_one(tiny, tmp_path):
    path = good_and_bad_csv(tmp_path)
    report, read_rejects = load_csv(path)

    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    assert grid_codes() == {"R1": "G00", "R2": "G10", "R3": "G01", "R4": "G11"}
    r1 = BaseRecord.objects.get(external_id="R1")
    assert (r1.kind, r1.name, r1.address, r1.source_crs) == ("building", "一号楼", "香港中路1号", "WGS84")
    assert (r1.lng, r1.lat) == (120.305, 36.005)
    assert r1.attributes == {"floor": "3"}
    assert r1.grid_id == tiny["G00"].pk
    assert BaseRecord.objects.get(external_id="R4").kind == "camera"

    rejects = sorted(report.rejected + read_rejects, key=lambda reject: reject.line)
    assert [reject.line for reject in rejects] == sorted(EXPECTED_REJECTS)
    for reject in rejects:
        assert reject.file == str(path)
        assert EXPECTED_REJECTS[reject.line] in reject.reason, reject
    assert report.seconds_loading > 0


EXPECTED_CHINESE_REJECTS = {
    5: "lng 的值 'abc' 不是数字",
    6: "不在本区范围内",
    7: "缺少 name",
    8: "不是有效的 UTF-8（字节 0xff 0xfe）",
    9: "未知的类型 'spaceship'",
    10: "'EPSG:3857'",
    11: "external_id 'R1' 重复（首次出现在第 2 行）",
}


def test_csv_rejects_are_in_chinese_by_default(tiny, tmp_path):
    path = good_and_bad_csv(tmp_path)
    with translation.override(settings.LANGUAGE_CODE):  # zh-hans, what is active when nothing else is asked for
        report, read_rejects = load_csv(path)

    assert report.created == 4
    rejects = sorted(report.rejected + read_rejects, key=lambda reject: reject.line)
    assert [reject.line for reject in rejects] == sorted(EXPECTED_CHINESE_REJECTS)
    for reject in rejects:
        assert EXPECTED_CHINESE_REJECTS[reject.line] in reject.reason, reject
    assert "不在本区范围内" in rejects[1].reason and "outside" not in rejects[1].reason


def test_command_writes_every_reject_to_the_rejects_csv(tiny, tmp_path):
    path = good_and_bad_csv(tmp_path)
    out = io.StringIO()
    call_command("import_base_data", str(path), "--no-progress", stdout=out)

    assert "created 4, updated 0, unchanged 0, rejected 7" in out.getvalue()
    assert "loading took" in out.getvalue()
    with open(f"{path}.rejects.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["line"]) for row in rows] == sorted(EXPECTED_REJECTS)
    for row in rows:
        assert row["file"] == str(path)
        assert EXPECTED_REJECTS[int(row["line"])] in row["reason"]
    assert BaseRecord.objects.count() == 4

    elsewhere = tmp_path / "elsewhere.csv"
    call_command("import_base_data", str(path), "--no-progress", "--rejects", str(elsewhere), stdout=io.StringIO())
    assert len(elsewhere.read_text(encoding="utf-8").splitlines()) == 1 + 7


def test_command_fails_on_an_unreadable_or_headerless_file(tiny, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_base_data", str(tmp_path / "missing.csv"), "--no-progress")
    headless = write_csv(tmp_path / "headless.csv", "R1,building,楼,,120.305,36.005\n")
    with pytest.raises(CommandError, match="missing column"):
        call_command("import_base_data", str(headless), "--no-progress")
    assert not BaseRecord.objects.exists()


def test_reimport_writes_nothing_and_an_edited_row_updates_only_that_row(tiny, tmp_path):
    text = (HEADER + "R1,building,一号楼,,120.305,36.005,,1\n" + "R2,small_shop,小卖部,,120.315,36.005,,\n"
            + "R3,small_hotel,旅馆,,120.305,36.015,gps,\n")
    path = write_csv(tmp_path / "records.csv", text)
    first, _ = load_csv(path)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    stamps = dict(BaseRecord.objects.values_list("external_id", "updated_at"))

    again, read_rejects = load_csv(path)
    assert (again.created, again.updated, again.unchanged, again.rejected, read_rejects) == (0, 0, 3, [], [])
    assert dict(BaseRecord.objects.values_list("external_id", "updated_at")) == stamps

    write_csv(path, text.replace("小卖部", "便利店"))
    edited, _ = load_csv(path)
    assert (edited.created, edited.updated, edited.unchanged) == (0, 1, 2)
    now = dict(BaseRecord.objects.values_list("external_id", "updated_at"))
    assert now["R2"] > stamps["R2"]
    assert {key: now[key] for key in ("R1", "R3")} == {key: stamps[key] for key in ("R1", "R3")}
    assert BaseRecord.objects.get(external_id="R2").name == "便利店"

    write_csv(path, text.replace("小卖部", "便利店").replace(",,1\n", ",,2\n"))  # only an attribute differs
    attribute, _ = load_csv(path)
    assert (attribute.created, attribute.updated, attribute.unchanged) == (0, 1, 2)
    assert BaseRecord.objects.get(external_id="R1").attributes == {"floor": "2"}


def test_gcj02_input_is_stored_in_wgs84_in_the_grid_of_its_wgs84_twin(tiny, tmp_path):
    lng, lat = 120.307, 36.005  # in G00, ~270 m from its east edge
    gcj_lng, gcj_lat = wgs84_to_gcj02(lng, lat)
    # the GCJ-02 coordinates, read as if they were WGS-84, would fall in the next grid east
    assert district_locator().locate_wgs84(gcj_lng, gcj_lat).grid_code == "G10"
    path = write_csv(tmp_path / "twins.csv", HEADER + f"W,building,真,,{lng},{lat},WGS84,\n"
                     + f"M,building,火星,,{gcj_lng!r},{gcj_lat!r},amap,\n")
    report, _ = load_csv(path)

    assert report.created == 2 and not report.rejected
    assert grid_codes() == {"W": "G00", "M": "G00"}
    mars = BaseRecord.objects.get(external_id="M")
    assert mars.source_crs == CRS.GCJ02.value
    assert mars.lng == pytest.approx(lng, abs=1e-9) and mars.lat == pytest.approx(lat, abs=1e-9)


def test_an_exception_while_loading_leaves_no_record_written(tiny, tmp_path):
    load_csv(write_csv(tmp_path / "before.csv", HEADER + "R1,building,原名,,120.305,36.005,,\n"))

    class FailingOnSecondBatch:
        def __init__(self):
            self.inner, self.calls = district_locator(), 0

        def grid_ids_for(self, lngs, lats):
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("locator broke")
            return self.inner.grid_ids_for(lngs, lats)

    rows = "".join(f"N{i},building,新{i},,120.305,36.005,,\n" for i in range(5))
    path = write_csv(tmp_path / "records.csv", HEADER + "R1,building,新名,,120.315,36.015,,\n" + rows)
    batches, _ = read_records_csv(path, batch_size=2)
    with pytest.raises(RuntimeError, match="locator broke"):
        records_load(batches, locator=FailingOnSecondBatch())

    assert list(BaseRecord.objects.values_list("external_id", "name", "grid__code")) == [("R1", "原名", "G00")]
    # and the connection is still usable for the next load
    report, _ = load_csv(path)
    assert (report.created, report.updated) == (5, 1)


def test_geojson_records_import_and_a_bad_feature_is_rejected_by_number(tiny, tmp_path):
    def point(lng, lat, **properties):
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lng, lat]}, "properties": properties}

    collection = {"type": "FeatureCollection", "features": [
        point(120.305, 36.005, external_id="P1", kind="small_restaurant", name="面馆", address="湛山路2号",
              licence="LIC-1"),
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[120.3, 36], [120.31, 36], [120.3, 36]]]},
         "properties": {"external_id": "P2", "kind": "building", "name": "多边形"}},
        point(120.315, 36.015, external_id="P3", kind="rocket", name="火箭"),
        point(*wgs84_to_bd09(120.315, 36.005), external_id=4, kind="small_hotel", name="旅馆", crs="BD09"),
    ]}
    path = tmp_path / "records.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    batches, read_rejects = read_records_geojson(path)
    report = records_load(batches)

    assert report.created == 2
    assert grid_codes()["P1"] == "G00"
    assert BaseRecord.objects.get(external_id="P1").attributes == {"licence": "LIC-1"}
    assert grid_codes()["4"] == "G10" and BaseRecord.objects.get(external_id="4").source_crs == "BD09"
    rejects = sorted(read_rejects + report.rejected, key=lambda reject: reject.line)
    assert [(reject.file, reject.line) for reject in rejects] == [(str(path), 2), (str(path), 3)]
    assert rejects[0].reason.startswith("feature 2: ") and "expected a Point" in rejects[0].reason
    assert rejects[1].reason.startswith("feature 3: ") and "unknown kind 'rocket'" in rejects[1].reason


# --- the PostgreSQL bulk path (indexes and constraints dropped, rows moved, all rebuilt) ---------

@pytest.fixture
def bulk(tiny, monkeypatch) -> list[list[str]]:
    """Runs on PostgreSQL only; returns the names each bulk load dropped (one list per load)."""
    if connection.vendor != "postgresql":
        pytest.skip("the bulk path exists on PostgreSQL only (SQLite always takes the normal path)")
    drops: list[list[str]] = []
    original = importer_postgres.schema_drop

    def spying(cursor, table, dropped):
        drops.append([item.name for item in dropped])
        original(cursor, table, dropped)

    monkeypatch.setattr(importer_postgres, "schema_drop", spying)
    return drops


def table_schema() -> set[str]:
    """Every index and constraint of the base record table, as PostgreSQL prints them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'gridapp_baserecord'")
        indexes = {f"index {name}: {definition}" for name, definition in cursor.fetchall()}
        cursor.execute("SELECT conname, pg_get_constraintdef(oid), condeferrable, condeferred, convalidated "
                       "FROM pg_constraint WHERE conrelid = 'gridapp_baserecord'::regclass")
        constraints = {f"constraint {row[0]}: {row[1:]}" for row in cursor.fetchall()}
    return indexes | constraints


def row_versions() -> dict[str, tuple]:
    """external id -> (xmin, ctid, updated_at): any write to a row changes its xmin and ctid."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT external_id, xmin::text, ctid::text, updated_at FROM gridapp_baserecord")
        return {external_id: rest for external_id, *rest in cursor.fetchall()}


def test_an_initial_bulk_load_creates_every_row_and_rebuilds_the_same_indexes(bulk, tmp_path, monkeypatch):
    monkeypatch.setattr(importer_records, "BULK_MIN_ROWS", 1)  # the automatic rule: an empty table
    before = table_schema()
    assert len(before) == 4 + 3  # pkey, unique external_id, (grid, kind), (lng, lat); pkey, unique, grid fk
    path = good_and_bad_csv(tmp_path)
    with path.open("ab") as handle:  # line 13: COPY needs its tab and backslashes escaped
        handle.write(b"R5,building,a\tb\\c\\,,120.305,36.005,,\"x\\\ty\"\n")
    # batches of 3: the first one is staged, then the rest goes straight into the table
    batches, read_rejects = read_records_csv(path, batch_size=3)
    report = records_load(batches)

    assert len(bulk) == 1 and len(bulk[0]) == 4  # the two indexes, the unique constraint, the foreign key
    assert (report.created, report.updated, report.unchanged) == (5, 0, 0)
    assert [reject.line for reject in sorted(report.rejected + read_rejects, key=lambda r: r.line)] == sorted(
        EXPECTED_REJECTS)
    assert grid_codes() == {"R1": "G00", "R2": "G10", "R3": "G01", "R4": "G11", "R5": "G00"}
    assert list(BaseRecord.objects.order_by("id").values_list("external_id", flat=True)) == [
        "R1", "R2", "R3", "R4", "R5"]
    assert BaseRecord.objects.get(external_id="R1").attributes == {"floor": "3"}
    r5 = BaseRecord.objects.get(external_id="R5")
    assert (r5.name, r5.attributes) == ("a\tb\\c\\", {"floor": "x\\\ty"})
    assert table_schema() == before

    # a small load into the filled table takes the normal path again
    report, _ = load_csv(write_csv(tmp_path / "more.csv", HEADER + "R6,building,六号楼,,120.305,36.005,,\n"))
    assert report.created == 1 and len(bulk) == 1


def test_a_bulk_load_into_a_filled_table_counts_and_writes_only_what_changed(bulk, tmp_path, monkeypatch):
    text = HEADER + "".join(f"R{i},building,楼{i},路{i}号,120.305,36.005,,{i}\n" for i in range(6))
    first, _ = load_csv(write_csv(tmp_path / "first.csv", text))  # the normal path, in this same transaction
    assert first.created == 6 and not bulk
    versions, before = row_versions(), table_schema()

    monkeypatch.setattr(importer_records, "BULK_PATH", True)
    edited = text.replace("楼2,", "二号楼,").replace(",,4\n", ",,四\n") + "N1,camera,新摄像头,a\tb\\c\\,120.315,36.015,,\n"
    report, _ = load_csv(write_csv(tmp_path / "edited.csv", edited))

    assert len(bulk) == 1
    assert (report.created, report.updated, report.unchanged) == (1, 2, 4)
    after = row_versions()
    assert {key for key in versions if after[key] != versions[key]} == {"R2", "R4"}
    assert BaseRecord.objects.get(external_id="R2").name == "二号楼"
    assert BaseRecord.objects.get(external_id="R4").attributes == {"floor": "四"}
    assert BaseRecord.objects.get(external_id="N1").address == "a\tb\\c\\"  # COPY escapes survive
    assert table_schema() == before


def test_a_bulk_reload_of_the_same_rows_is_all_unchanged_and_writes_nothing(bulk, tmp_path, monkeypatch):
    monkeypatch.setattr(importer_records, "BULK_PATH", True)
    path = good_and_bad_csv(tmp_path)
    first, _ = load_csv(path)
    assert first.created == 4
    versions, before = row_versions(), table_schema()

    again, _ = load_csv(path)
    assert len(bulk) == 2
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert row_versions() == versions
    assert table_schema() == before


@pytest.mark.parametrize("filled", [False, True], ids=["empty-table", "filled-table"])
def test_a_bulk_load_that_fails_midway_restores_the_indexes_and_writes_no_row(bulk, tmp_path, monkeypatch, filled):
    if filled:
        load_csv(write_csv(tmp_path / "before.csv", HEADER + "R1,building,原名,,120.305,36.005,,\n"))
    versions, before = row_versions(), table_schema()

    def broken(cursor, dropped):  # after the rows went in, before anything is rebuilt
        raise RuntimeError("rebuilding broke")

    monkeypatch.setattr(importer_records, "BULK_PATH", True)
    monkeypatch.setattr(importer_postgres, "schema_restore", broken)
    path = write_csv(tmp_path / "records.csv", HEADER + "R1,building,新名,,120.315,36.015,,\n"
                     + "".join(f"N{i},building,新{i},,120.305,36.005,,\n" for i in range(5)))
    with pytest.raises(RuntimeError, match="rebuilding broke"):
        load_csv(path)

    assert len(bulk) == 1 and bulk[0]
    assert table_schema() == before
    assert row_versions() == versions
    monkeypatch.undo()
    report, _ = load_csv(path)  # the connection and the table still work
    assert (report.created, report.updated) == ((5, 1) if filled else (6, 0))


# --- boundaries ---------------------------------------------------------------------------------

def area(level: str, code: str | None, name: str, polygon, **properties) -> dict:
    props = {"level": level, "name": name, **properties}
    if code is not None:
        props["code"] = code
    geometry = polygon if isinstance(polygon, dict) else mapping(polygon)
    return {"type": "Feature", "geometry": geometry, "properties": props}


def cell(col: int, row: int, *, east: float = 0.0):
    return box(LNG0 + col * SIZE, LAT0 + row * SIZE, LNG0 + (col + 1) * SIZE + east, LAT0 + (row + 1) * SIZE)


def boundaries(*, g10_east: float = 0.0) -> dict:
    whole = box(LNG0, LAT0, LNG0 + 2 * SIZE, LAT0 + 2 * SIZE)
    bow_tie = {"type": "Polygon", "coordinates": [[[120.40, 36.0], [120.41, 36.01], [120.41, 36.0],
                                                   [120.40, 36.01], [120.40, 36.0]]]}
    return {"type": "FeatureCollection", "features": [
        area("grid", "G00", "网格00", cell(0, 0), parent="C1"),  # before its parent: levels go in order
        area("street", "S1", "街道一", whole),
        area("community", "C1", "社区一", whole, parent="S1"),
        area("grid", "G01", "网格01", cell(0, 1), parent="C1"),
        area("grid", "G10", "网格10", cell(1, 0, east=g10_east), parent="C1"),
        area("grid", "G11", "网格11", cell(1, 1), parent="C1"),
        area("industry", "I1", "环卫一区", box(LNG0, LAT0, LNG0 + SIZE, LAT0 + 2 * SIZE), department="sanitation"),
        area("grid", "GBOW", "蝴蝶结", bow_tie, parent="C1"),  # feature 8
        area("grid", "GX", "无主网格", cell(3, 3), parent="NOPE"),  # feature 9
        area("grid", None, "无编号", cell(4, 4), parent="C1"),  # feature 10
        area("park", "P1", "园区", cell(5, 5)),  # feature 11
    ]}


def write_boundaries(path: Path, **kwargs) -> Path:
    path.write_text(json.dumps(boundaries(**kwargs), ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def sanitation(db):
    return DepartmentFactory(code="sanitation")


def test_boundaries_load_each_level_and_reject_bad_features(sanitation, tmp_path):
    path = write_boundaries(tmp_path / "district.geojson")
    report = boundaries_load(path, description="2026 boundaries")

    assert (report.created, report.updated, report.unchanged) == (7, 0, 0)
    assert [(reject.file, reject.line) for reject in report.rejected] == [(str(path), n) for n in (8, 9, 10, 11)]
    reasons = [reject.reason for reject in report.rejected]
    assert reasons[0].startswith("feature 8: ") and "Self-intersection" in reasons[0]  # the rest is translated
    assert "unknown parent community 'NOPE'" in reasons[1]
    assert "code is missing" in reasons[2]
    assert "unknown level 'park'" in reasons[3]

    generation = Generation.objects.get()
    assert generation.description == "2026 boundaries"
    street = Street.objects.current().get()
    community = Community.objects.current().get()
    assert community.street == street and community.generation_low == generation
    grids = {grid.code: grid for grid in Grid.objects.current()}
    assert sorted(grids) == ["G00", "G01", "G10", "G11"]
    assert {grid.community_id for grid in grids.values()} == {community.pk}
    assert grids["G10"].centroid_lng == pytest.approx(LNG0 + 1.5 * SIZE)
    assert grids["G10"].area_m2 > 0
    industry = IndustryGrid.objects.current().get()
    assert industry.department == sanitation
    assert set(industry.basic_grids.values_list("code", flat=True)) == {"G00", "G01"}


def test_boundary_reimport_and_redraw(sanitation, tmp_path):
    path = write_boundaries(tmp_path / "district.geojson")
    boundaries_load(path, description="first")
    records = write_csv(tmp_path / "records.csv", HEADER + "A,building,甲,,120.315,36.005,,\n"
                        + "EAST,building,东,,120.322,36.005,,\n")
    report, _ = load_csv(records)
    assert report.created == 1 and "outside the district" in report.rejected[0].reason
    old_g10 = Grid.objects.current().get(code="G10")
    worker = UserFactory(role=Role.GRID_WORKER)
    grid_assign_worker(actor=None, grid=old_g10, worker=worker)

    out = io.StringIO()
    call_command("import_base_data", str(path), "--boundaries", "--no-progress", stdout=out)
    assert "created 0, updated 0, unchanged 7, rejected 4" in out.getvalue()
    assert Generation.objects.count() == 1
    assert Grid.objects.count() == 4

    write_boundaries(path, g10_east=0.005)  # G10 grows half a grid to the east
    redraw = boundaries_load(path, description="G10 grows")
    assert (redraw.created, redraw.updated, redraw.unchanged) == (0, 1, 6)
    latest = Generation.objects.order_by("-id").first()
    assert Generation.objects.count() == 2 and latest.description == "G10 grows"
    old_g10.refresh_from_db()
    new_g10 = Grid.objects.current().get(code="G10")
    assert old_g10.generation_high == latest and not old_g10.is_current
    assert new_g10.pk != old_g10.pk and new_g10.generation_low == latest
    assert new_g10.max_lng == pytest.approx(LNG0 + 2.5 * SIZE)
    assert BaseRecord.objects.get(external_id="A").grid_id == old_g10.pk  # records keep their version
    assert GridUserObjectPermission.objects.filter(content_object=new_g10, user=worker).exists()
    others = Grid.objects.filter(code__in=["G00", "G01", "G11"])
    assert {grid.generation_low_id for grid in others} == {Generation.objects.order_by("id").first().pk}

    after = write_csv(tmp_path / "after.csv", HEADER + "EAST,building,东,,120.322,36.005,,\n"
                      + "B,building,乙,,120.315,36.005,,\n")
    report, _ = load_csv(after)
    assert (report.created, report.rejected) == (2, [])
    assert BaseRecord.objects.get(external_id="EAST").grid_id == new_g10.pk
    assert BaseRecord.objects.get(external_id="B").grid_id == new_g10.pk
    # re-importing the old record relocates it onto the current version
    report, _ = load_csv(records)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)  # EAST came in with after.csv
    assert BaseRecord.objects.get(external_id="A").grid_id == new_g10.pk

    again = boundaries_load(path, description="unchanged")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
    assert Generation.objects.count() == 2


def test_a_new_community_version_keeps_its_unchanged_grids_and_links_them_to_it(sanitation, tmp_path):
    path = write_boundaries(tmp_path / "district.geojson")
    boundaries_load(path, description="first")
    grid_ids = set(Grid.objects.current().values_list("id", flat=True))
    old_community = Community.objects.current().get()

    collection = boundaries()
    collection["features"][2]["properties"]["name"] = "社区一（更名）"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    report = boundaries_load(path, description="community renamed")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 6)
    community = Community.objects.current().get()
    assert community.pk != old_community.pk and community.name == "社区一（更名）"
    old_community.refresh_from_db()
    assert old_community.generation_high_id == community.generation_low_id
    assert set(Grid.objects.current().values_list("id", flat=True)) == grid_ids  # no new grid versions
    assert set(Grid.objects.current().values_list("community_id", flat=True)) == {community.pk}
    assert district_locator().locate_wgs84(120.305, 36.005).community_id == community.pk
