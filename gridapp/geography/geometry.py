"""Measures of areas on the ground, for every boundary stored (imports, redraws, the demo district)."""

from __future__ import annotations

import math

import shapely.affinity
from shapely.geometry import Polygon

METRES_PER_DEG_LAT = 110_574.0


def polygon_area_m2(polygon: Polygon) -> float:
    """Area on a local equirectangular projection: exact enough at district scale."""
    lat = polygon.centroid.y
    scaled = shapely.affinity.scale(
        polygon, xfact=METRES_PER_DEG_LAT * math.cos(math.radians(lat)), yfact=METRES_PER_DEG_LAT, origin=(0, 0)
    )
    return float(scaled.area)
