"""WGS-84 / GCJ-02 / BD-09 conversion (gridapp.geography.crs): pure functions, no database.

Reference values are checked against a second, independently written version of
the published formulas (below, in textbook form: named radii of curvature, the
series as a table of terms, BD-09 with complex numbers) and against values
published by another implementation, so a slip in either copy shows up.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest

from gridapp.geography import crs
from gridapp.geography.crs import CRS

QINGDAO = (120.38, 36.06)  # lng, lat
EARTH_RADIUS_M = 6371008.8


# --- an independent, straightforward implementation of the published formulas ---

# GCJ-02 series terms as (amplitude in metres, argument divided by pi, which variable).
_SINE_TERMS_COMMON = [(20.0, 6.0, "x"), (20.0, 2.0, "x")]
_SINE_TERMS_EAST = _SINE_TERMS_COMMON + [(20.0, 1.0, "x"), (40.0, 1 / 3, "x"), (150.0, 1 / 12, "x"), (300.0, 1 / 30, "x")]
_SINE_TERMS_NORTH = _SINE_TERMS_COMMON + [(20.0, 1.0, "y"), (40.0, 1 / 3, "y"), (160.0, 1 / 12, "y"), (320.0, 1 / 30, "y")]


def _reference_wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    x, y = lng - 105.0, lat - 35.0
    var = {"x": x, "y": y}

    def sines(terms):
        return sum(amp * math.sin(k * math.pi * var[v]) for amp, k, v in terms) * 2.0 / 3.0

    east_m = 300.0 + x + 2.0 * y + 0.1 * x**2 + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + sines(_SINE_TERMS_EAST)
    north_m = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y**2 + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + sines(_SINE_TERMS_NORTH)
    a, e2 = 6378245.0, 0.00669342162296594323  # Krasovsky 1940
    phi = math.radians(lat)
    m_radius = a * (1.0 - e2) / (1.0 - e2 * math.sin(phi) ** 2) ** 1.5  # meridian
    n_radius = a / math.sqrt(1.0 - e2 * math.sin(phi) ** 2)  # prime vertical
    return lng + math.degrees(east_m / (n_radius * math.cos(phi))), lat + math.degrees(north_m / m_radius)


def _reference_gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    x_pi = math.pi * 3000.0 / 180.0
    z = complex(lng, lat)
    r = abs(z) + 2e-5 * math.sin(lat * x_pi)
    angle = cmath.phase(z) + 3e-6 * math.cos(lng * x_pi)
    bd = cmath.rect(r, angle) + complex(0.0065, 0.006)
    return bd.real, bd.imag


def _offset_m(from_lng, from_lat, to_lng, to_lat):
    """Equirectangular (east, north) metres from one point to another."""
    mean_lat = np.radians((np.asarray(from_lat) + np.asarray(to_lat)) / 2.0)
    east = np.radians(np.asarray(to_lng) - from_lng) * np.cos(mean_lat) * EARTH_RADIUS_M
    north = np.radians(np.asarray(to_lat) - from_lat) * EARTH_RADIUS_M
    return east, north


def _china_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(73.5, 135.0, n), rng.uniform(18.0, 53.5, n)


def _qingdao_points(n: int, seed: int, half: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(QINGDAO[0] - half, QINGDAO[0] + half, n), rng.uniform(QINGDAO[1] - half, QINGDAO[1] + half, n)


# --- reference values ---

def test_reference_implementation_agrees_with_module_across_china():
    for lng, lat in zip(*_china_points(500, seed=11), strict=True):
        assert crs.wgs84_to_gcj02(lng, lat) == pytest.approx(_reference_wgs84_to_gcj02(lng, lat), abs=1e-11)
        assert crs.gcj02_to_bd09(lng, lat) == pytest.approx(_reference_gcj02_to_bd09(lng, lat), abs=1e-11)


# Qingdao: literals cross-checked against the independent implementation above.
QINGDAO_GCJ02 = (120.38513119575265, 36.06027236091761)
QINGDAO_BD09 = (120.39160364172, 36.06636335439305)


def test_qingdao_reference_values():
    assert _reference_wgs84_to_gcj02(*QINGDAO) == pytest.approx(QINGDAO_GCJ02, abs=1e-9)
    assert _reference_gcj02_to_bd09(*QINGDAO_GCJ02) == pytest.approx(QINGDAO_BD09, abs=1e-9)

    assert crs.wgs84_to_gcj02(*QINGDAO) == pytest.approx(QINGDAO_GCJ02, abs=1e-7)
    assert crs.wgs84_to_bd09(*QINGDAO) == pytest.approx(QINGDAO_BD09, abs=1e-7)
    assert crs.gcj02_to_wgs84(*QINGDAO_GCJ02) == pytest.approx(QINGDAO, abs=1e-9)
    assert crs.bd09_to_wgs84(*QINGDAO_BD09) == pytest.approx(QINGDAO, abs=1e-9)


def test_published_values_of_another_implementation():
    # From the example in wandergis/coordtransform (JavaScript), for (116.404, 39.915) in Beijing.
    assert crs.wgs84_to_gcj02(116.404, 39.915) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-9)
    assert crs.gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-9)


def test_inverses_are_exact_not_the_one_step_approximation():
    # coordtransform's published one-step inverses of (116.404, 39.915): off by a few 1e-7 degrees.
    one_step_wgs = (116.39775550083061, 39.91359571849836)
    one_step_gcj = (116.39762729119315, 39.90865673957631)

    wgs = crs.gcj02_to_wgs84(116.404, 39.915)
    assert crs.wgs84_to_gcj02(*wgs) == pytest.approx((116.404, 39.915), abs=1e-9)
    assert max(abs(a - b) for a, b in zip(crs.wgs84_to_gcj02(*one_step_wgs), (116.404, 39.915), strict=True)) > 1e-7
    assert wgs == pytest.approx(one_step_wgs, abs=1e-5)  # but the same neighbourhood

    gcj = crs.bd09_to_gcj02(116.404, 39.915)
    assert crs.gcj02_to_bd09(*gcj) == pytest.approx((116.404, 39.915), abs=1e-9)
    assert max(abs(a - b) for a, b in zip(crs.gcj02_to_bd09(*one_step_gcj), (116.404, 39.915), strict=True)) > 1e-7
    assert gcj == pytest.approx(one_step_gcj, abs=1e-5)


# --- round trips ---

@pytest.mark.parametrize("points", [_china_points(2000, seed=1), _qingdao_points(2000, seed=2)], ids=["china", "qingdao"])
def test_round_trips_within_1e_8_degrees(points):
    for lng, lat in zip(*points, strict=True):
        assert crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lng, lat)) == pytest.approx((lng, lat), abs=1e-8)
        assert crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lng, lat)) == pytest.approx((lng, lat), abs=1e-8)
        # and the other way: a GCJ-02 / BD-09 point survives going through WGS-84
        assert crs.wgs84_to_gcj02(*crs.gcj02_to_wgs84(lng, lat)) == pytest.approx((lng, lat), abs=1e-8)
        assert crs.gcj02_to_bd09(*crs.bd09_to_gcj02(lng, lat)) == pytest.approx((lng, lat), abs=1e-8)


def test_round_trip_at_qingdao_centre():
    for target in (CRS.GCJ02, CRS.BD09):
        moved = crs.from_wgs84(*QINGDAO, target)
        assert moved != pytest.approx(QINGDAO, abs=1e-3)
        assert crs.to_wgs84(*moved, target) == pytest.approx(QINGDAO, abs=1e-8)


# --- physical size of the offsets ---

def test_gcj02_offset_near_qingdao_is_a_few_hundred_metres_north_east():
    lng, lat = _qingdao_points(1000, seed=3, half=0.1)  # the district and its surroundings
    g_lng, g_lat = crs.wgs84_to_gcj02_array(lng, lat)
    east, north = _offset_m(lng, lat, g_lng, g_lat)
    distance = np.hypot(east, north)
    assert distance.min() > 300 and distance.max() < 700
    # Near Qingdao the shift is almost due east, a little north (bearing ~86-89 degrees,
    # measured ~445-462 m); further out the short-period sines swing "north" by +-20 m.
    assert (east > 0).all() and (north > 0).all()
    assert (east > 5 * north).all()


def test_bd09_offset_from_gcj02_near_qingdao():
    lng, lat = _qingdao_points(1000, seed=4, half=0.1)
    b_lng, b_lat = crs.gcj02_to_bd09_array(lng, lat)
    east, north = _offset_m(lng, lat, b_lng, b_lat)
    distance = np.hypot(east, north)
    # +0.0065 / +0.006 degrees plus Baidu's small rotation: a bit under a kilometre, north-east.
    assert distance.min() > 300 and distance.max() < 1200
    assert (east > 0).all() and (north > 0).all()


# --- outside China ---

OUTSIDE = [
    (2.3522, 48.8566),  # Paris
    (-74.006, 40.7128),  # New York
    (139.6917, 35.6895),  # Tokyo: east of the box
    (72.0, 30.0),  # just west of the box
    (100.0, 55.9),  # just north of the box
    (120.0, -10.0),  # southern hemisphere
]


@pytest.mark.parametrize("point", OUTSIDE)
def test_gcj02_leaves_points_outside_china_unchanged(point):
    assert crs.out_of_china(*point)
    assert crs.wgs84_to_gcj02(*point) == point
    assert crs.gcj02_to_wgs84(*point) == point
    g_lng, g_lat = crs.wgs84_to_gcj02_array(np.array([point[0]]), np.array([point[1]]))
    assert (g_lng[0], g_lat[0]) == point
    w_lng, w_lat = crs.gcj02_to_wgs84_array(np.array([point[0]]), np.array([point[1]]))
    assert (w_lng[0], w_lat[0]) == point
    # BD-09 is still applied on top (Baidu does it everywhere).
    assert crs.wgs84_to_bd09(*point) == crs.gcj02_to_bd09(*point)


def test_points_just_inside_the_box_are_moved():
    for point in [(72.01, 30.0), (137.83, 45.0), (100.0, 55.82), (110.0, 0.83)]:
        assert not crs.out_of_china(*point)
        assert crs.wgs84_to_gcj02(*point) != point


def test_nan_is_passed_through():
    lng, lat = crs.wgs84_to_gcj02(float("nan"), 36.0)
    assert math.isnan(lng) and lat == 36.0
    a_lng, a_lat = crs.to_wgs84_array(np.array([np.nan, 120.38]), np.array([36.0, np.nan]), CRS.BD09)
    assert np.isnan(a_lng[0]) and np.isnan(a_lat[1])


# --- vectorised vs scalar ---

def _mixed_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    lng, lat = _china_points(n, seed)
    lng[:3], lat[:3] = (2.35, -74.0, 139.7), (48.85, 40.7, 35.7)  # a few outside China too
    return lng, lat


@pytest.mark.parametrize(
    ("array_fn", "scalar_fn"),
    [
        (crs.wgs84_to_gcj02_array, crs.wgs84_to_gcj02),
        (crs.gcj02_to_wgs84_array, crs.gcj02_to_wgs84),
        (crs.gcj02_to_bd09_array, crs.gcj02_to_bd09),
        (crs.bd09_to_gcj02_array, crs.bd09_to_gcj02),
    ],
    ids=lambda fn: getattr(fn, "__name__", ""),
)
def test_vectorised_helpers_match_scalar(array_fn, scalar_fn):
    lng, lat = _mixed_points(10_000, seed=5)
    got_lng, got_lat = array_fn(lng, lat)
    want = np.array([scalar_fn(x, y) for x, y in zip(lng, lat, strict=True)])
    np.testing.assert_allclose(got_lng, want[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got_lat, want[:, 1], rtol=0, atol=1e-9)


@pytest.mark.parametrize("source", list(CRS))
def test_to_and_from_wgs84_array_match_scalar(source):
    lng, lat = _mixed_points(10_000, seed=6)
    lng_in, lat_in = lng.copy(), lat.copy()
    got_lng, got_lat = crs.to_wgs84_array(lng, lat, source)
    want = np.array([crs.to_wgs84(x, y, source) for x, y in zip(lng, lat, strict=True)])
    np.testing.assert_allclose(got_lng, want[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got_lat, want[:, 1], rtol=0, atol=1e-9)
    assert (lng == lng_in).all() and (lat == lat_in).all()  # inputs untouched

    got_lng, got_lat = crs.from_wgs84_array(lng, lat, source.value.lower())
    want = np.array([crs.from_wgs84(x, y, source) for x, y in zip(lng, lat, strict=True)])
    np.testing.assert_allclose(got_lng, want[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got_lat, want[:, 1], rtol=0, atol=1e-9)


def test_array_functions_broadcast_and_keep_shape():
    lng = np.array([[120.30, 120.35], [120.40, 120.45]])
    got_lng, got_lat = crs.to_wgs84_array(lng, 36.06, "gaode")
    assert got_lng.shape == got_lat.shape == (2, 2)
    assert got_lng.dtype == np.float64
    assert (got_lng[1, 0], got_lat[1, 0]) == pytest.approx(crs.gcj02_to_wgs84(120.40, 36.06), abs=1e-9)
    empty = crs.to_wgs84_array(np.array([]), np.array([]), CRS.BD09)
    assert empty[0].shape == empty[1].shape == (0,)


def test_to_wgs84_dispatch():
    assert crs.to_wgs84(*QINGDAO, "gps") == QINGDAO
    assert crs.to_wgs84(*QINGDAO_GCJ02, "AMap") == pytest.approx(QINGDAO, abs=1e-9)
    assert crs.to_wgs84(*QINGDAO_BD09, "baidu") == pytest.approx(QINGDAO, abs=1e-9)
    assert crs.from_wgs84(*QINGDAO, "tencent") == pytest.approx(QINGDAO_GCJ02, abs=1e-9)
    with pytest.raises(ValueError):
        crs.to_wgs84(*QINGDAO, "utm")


# --- CRS.parse ---

@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("wgs-84", CRS.WGS84), ("WGS84", CRS.WGS84), ("EPSG:4326", CRS.WGS84), ("gps", CRS.WGS84), (" Gps ", CRS.WGS84),
        ("gcj-02", CRS.GCJ02), ("GCJ02", CRS.GCJ02), ("mars", CRS.GCJ02), ("AMAP", CRS.GCJ02),
        ("Gaode", CRS.GCJ02), ("tencent", CRS.GCJ02),
        ("bd-09", CRS.BD09), ("BD09", CRS.BD09), ("Baidu", CRS.BD09),
        (CRS.BD09, CRS.BD09),
    ],
)
def test_crs_parse_aliases(alias, expected):
    assert CRS.parse(alias) is expected


@pytest.mark.parametrize("bad", ["utm", "", "wgs 84", "epsg:3857", "bd09mc", None, 4326])
def test_crs_parse_rejects_unknown(bad):
    with pytest.raises(ValueError, match="Unknown coordinate reference system") as excinfo:
        CRS.parse(bad)
    assert repr(bad) in str(excinfo.value)
    assert "WGS84" in str(excinfo.value) and "GCJ02" in str(excinfo.value) and "BD09" in str(excinfo.value)


def test_crs_is_a_str_enum():
    assert isinstance(CRS.GCJ02, str)
    assert CRS.GCJ02 == "GCJ02" and str(CRS.GCJ02) == "GCJ02" and f"{CRS.BD09}" == "BD09"
    assert CRS("BD09") is CRS.BD09
