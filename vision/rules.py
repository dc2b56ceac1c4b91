"""The six camera algorithms as pure functions: detections in, a verdict and the next state out.

A rule is an algorithm, a zone (normalised polygon; None or empty for the whole image), params and a state dict the
caller stores between snapshots (a JSONField). Nothing here touches the database or the network.

Anti-jitter, shared by every algorithm: each snapshot gives a raw condition. A situation starts once the raw condition
has held on `min_hits` consecutive snapshots and for `min_seconds` since the first of them; it ends once the condition
has been false on `min_clears` consecutive snapshots and for `clear_seconds`. A snapshot that agrees with the current
state resets the run. A snapshot not later than the last one seen changes nothing, so reprocessing is idempotent.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from vision.detections import STREET_TRADING, VEHICLES, Box, Detection, ObjectClass, Point


class Algorithm(models.TextChoices):
    CROWD = "crowd", _("Crowd gathering")
    PEOPLE_FLOW = "people_flow", _("People flow in a key area")
    STREET_TRADING = "street_trading", _("Business outside the shop door")
    PILED_GARBAGE = "piled_garbage", _("Piled garbage")
    OVERFLOWING_BIN = "overflowing_bin", _("Overflowing bin")
    ILLEGAL_PARKING = "illegal_parking", _("Illegal parking")


#: The classes of which a camera's model must detect at least one for the algorithm to run. The overflowing bin
#: also fires on garbage overlapping a bin, but only the dedicated class is required: a model that sees bins and
#: garbage alone is refused rather than half-trusted.
NEEDS: dict[str, frozenset[str]] = {
    Algorithm.CROWD: frozenset({ObjectClass.PERSON}),
    Algorithm.PEOPLE_FLOW: frozenset({ObjectClass.PERSON}),
    Algorithm.STREET_TRADING: STREET_TRADING,
    Algorithm.PILED_GARBAGE: frozenset({ObjectClass.GARBAGE}),
    Algorithm.OVERFLOWING_BIN: frozenset({ObjectClass.OVERFLOWING_BIN}),
    Algorithm.ILLEGAL_PARKING: VEHICLES,
}

_JITTER = {"min_hits": 3, "min_clears": 2}
DEFAULTS: dict[str, dict] = {
    Algorithm.CROWD: {"min_people": 10, "min_seconds": 120, "clear_seconds": 120, "min_confidence": 0.35, **_JITTER},
    Algorithm.STREET_TRADING: {"min_objects": 1, "min_seconds": 300, "clear_seconds": 300, "min_confidence": 0.4,
                               **_JITTER},
    Algorithm.PILED_GARBAGE: {"min_objects": 1, "min_seconds": 600, "clear_seconds": 600, "min_confidence": 0.4,
                              **_JITTER},
    Algorithm.OVERFLOWING_BIN: {"min_seconds": 300, "clear_seconds": 300, "min_confidence": 0.4, **_JITTER},
    # min_seconds is how long one vehicle must stand still; the tracking already spans snapshots, so one hit starts.
    Algorithm.ILLEGAL_PARKING: {"min_seconds": 300, "stationary_iou": 0.6, "clear_seconds": 60, "min_confidence": 0.4,
                                "min_hits": 1, "min_clears": 2},
    # The anti-jitter machine steps once per finished interval: an interval over threshold starts, one not over ends.
    Algorithm.PEOPLE_FLOW: {"mode": "occupancy", "interval_seconds": 300, "threshold": None, "line": None,
                            "max_step": 0.15, "min_confidence": 0.35, "min_seconds": 0, "clear_seconds": 0,
                            "min_hits": 1, "min_clears": 1},
}

_COUNTS = {"min_hits", "min_clears", "min_people", "min_objects"}
_SECONDS = {"min_seconds", "clear_seconds", "interval_seconds"}
_FRACTIONS = {"min_confidence", "stationary_iou", "max_step"}


@dataclass(frozen=True)
class FlowSample:
    interval_start: datetime
    count: int


@dataclass(frozen=True)
class Verdict:
    active: bool  # the situation holds now (after anti-jitter)
    started: bool  # it began with this snapshot
    ended: bool  # it ended with this snapshot
    count: int  # people in zone, objects, stationary vehicles, or this snapshot's flow figure
    evidence: tuple[Detection, ...]  # what makes the case, to draw on the evidence image
    flow: FlowSample | None = None  # people flow only: the interval that closed with this snapshot


def evaluate(algorithm: str, *, detections: Sequence[Detection], at: datetime, zone: Sequence[Point] | None,
             params: Mapping, state: dict) -> tuple[Verdict, dict]:
    """Judge one snapshot. Pure: returns the verdict and the new state, never mutates the given one.

    A snapshot at or before the last one seen gets the current `active` flag, a zero count, no evidence and the state
    unchanged. Detections under min_confidence are dropped; zone membership is by the detection's foot.

    Any caller may use it (the vision task stores the returned state on the rule). Raises ValueError for an unknown
    algorithm, bad params (see `params_with_defaults`) or a naive `at`.
    """
    algorithm = _algorithm(algorithm)
    p = params_with_defaults(algorithm, params)
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    if state.get("last") and at <= datetime.fromisoformat(state["last"]):
        return Verdict(bool(state.get("active")), False, False, 0, ()), copy.deepcopy(state)
    new = copy.deepcopy(state)
    new["last"] = at.isoformat()
    seen = [d for d in detections if d.confidence >= p["min_confidence"]]
    if algorithm == Algorithm.PEOPLE_FLOW:
        return _flow(seen, at, zone, p, new), new

    if algorithm == Algorithm.ILLEGAL_PARKING:
        evidence = _parking(seen, at, zone, p, new)
        raw, count = bool(evidence), len(evidence)
        p = {**p, "min_seconds": 0}  # already spent on each vehicle's stillness
    elif algorithm == Algorithm.OVERFLOWING_BIN:
        count, evidence = _overflowing(seen, zone)
        raw = count > 0
    else:
        wanted = {Algorithm.CROWD: {ObjectClass.PERSON}, Algorithm.STREET_TRADING: STREET_TRADING,
                  Algorithm.PILED_GARBAGE: {ObjectClass.GARBAGE}}[algorithm]
        evidence = tuple(d for d in seen if d.label in wanted and in_zone(d.foot, zone))
        count = len(evidence)
        raw = count >= p["min_people" if algorithm == Algorithm.CROWD else "min_objects"]
    active, started, ended = _step(new, raw, at, p)
    return Verdict(active, started, ended, count, evidence), new


def _step(state: dict, raw: bool, at: datetime, p: Mapping) -> tuple[bool, bool, bool]:
    """Advance the anti-jitter machine kept in `state` (mutated): a run of snapshots disagreeing with `active`."""
    active = bool(state.get("active"))
    if raw == active:
        state.update(active=active, run=0, run_since=None)
        return active, False, False
    run = state.get("run", 0) + 1
    since = datetime.fromisoformat(state["run_since"]) if run > 1 else at
    need, seconds = (p["min_clears"], p["clear_seconds"]) if active else (p["min_hits"], p["min_seconds"])
    if run >= need and (at - since).total_seconds() >= seconds:
        state.update(active=raw, run=0, run_since=None)
        return raw, raw, not raw
    state.update(active=active, run=run, run_since=since.isoformat())
    return active, False, False


def _overflowing(seen: list[Detection], zone) -> tuple[int, tuple[Detection, ...]]:
    """Overflowing bins in the zone, whether detected as such or as a bin with garbage on it."""
    full = [d for d in seen if d.label == ObjectClass.OVERFLOWING_BIN and in_zone(d.foot, zone)]
    garbage = [d for d in seen if d.label == ObjectClass.GARBAGE]
    evidence = list(full)
    for bin_ in (d for d in seen if d.label == ObjectClass.BIN and in_zone(d.foot, zone)):
        on_it = [g for g in garbage if _intersection(bin_.box, g.box) > 0]
        if on_it:
            full.append(bin_)
            evidence += [bin_, *(g for g in on_it if g not in evidence)]
    return len(full), tuple(evidence)


def _parking(seen: list[Detection], at: datetime, zone, p: Mapping, state: dict) -> tuple[Detection, ...]:
    """Track vehicles in the zone (state["vehicles"], mutated); return those still for at least min_seconds.

    A vehicle is still while its box overlaps its previous box by IoU >= stationary_iou (greedy best match);
    a new or moved vehicle starts its clock now, one not seen this snapshot is forgotten.
    """
    vehicles = [d for d in seen if d.label in VEHICLES and in_zone(d.foot, zone)]
    tracked = state.get("vehicles", [])
    pairs = sorted(((iou(d.box, tuple(t["box"])), i, j) for i, d in enumerate(vehicles) for j, t in enumerate(tracked)),
                   reverse=True)
    since: dict[int, str] = {}
    used: set[int] = set()
    for overlap, i, j in pairs:
        if overlap >= p["stationary_iou"] and i not in since and j not in used:
            since[i] = tracked[j]["since"]
            used.add(j)
    state["vehicles"] = [{"box": list(d.box), "since": since.get(i, at.isoformat()), "label": d.label}
                         for i, d in enumerate(vehicles)]
    return tuple(d for i, d in enumerate(vehicles)
                 if i in since and (at - datetime.fromisoformat(since[i])).total_seconds() >= p["min_seconds"])


def _flow(seen: list[Detection], at: datetime, zone, p: Mapping, state: dict) -> Verdict:
    """People flow per interval (aligned to epoch multiples of interval_seconds); mutates `state`.

    "occupancy": an interval's figure is the most people seen in the zone in any of its snapshots.
    "line": it is the number of person centres crossing the line, either way, matched between consecutive
    snapshots by nearest centre within max_step. Intervals without any snapshot yield no figure.
    """
    people = [d for d in seen if d.label == ObjectClass.PERSON and in_zone(d.foot, zone)]
    if p["mode"] == "occupancy":
        count, evidence = len(people), tuple(people)
    else:
        evidence = _crossings(state.get("centres", []), people, p["line"], p["max_step"])
        count = len(evidence)
        state["centres"] = [list(d.centre) for d in people]

    step = p["interval_seconds"]
    start = datetime.fromtimestamp(math.floor(at.timestamp() / step) * step, tz=UTC)
    sample = None
    if state.get("interval_start") and datetime.fromisoformat(state["interval_start"]) < start:
        sample = FlowSample(datetime.fromisoformat(state["interval_start"]), state["interval_count"])
        state["interval_start"] = None
    if not state.get("interval_start"):
        state.update(interval_start=start.isoformat(), interval_count=0)
    combine = max if p["mode"] == "occupancy" else operator.add
    state["interval_count"] = combine(state["interval_count"], count)

    active, started, ended = bool(state.get("active")), False, False
    if sample is not None and p["threshold"] is not None:
        active, started, ended = _step(state, sample.count > p["threshold"], at, p)
    return Verdict(active, started, ended, count, evidence, sample)


def _crossings(before: list, people: list[Detection], line, max_step: float) -> tuple[Detection, ...]:
    """The people whose centre moved across `line` since the previous snapshot (greedy nearest match)."""
    pairs = sorted((math.dist(prev, d.centre), i, j) for i, d in enumerate(people) for j, prev in enumerate(before))
    matched, used, crossed = set(), set(), []
    for distance, i, j in pairs:
        if distance <= max_step and i not in matched and j not in used:
            matched.add(i)
            used.add(j)
            if _crosses(tuple(before[j]), people[i].centre, line):
                crossed.append(people[i])
    return tuple(crossed)


def _crosses(a: Point, b: Point, line) -> bool:
    """Whether the move a->b crosses the segment `line`. A point on the line counts as on its left side,
    so stepping onto the line and off again the same way is not a crossing, and no crossing counts twice."""
    c, d = line
    left = _cross(c, d, a) >= 0
    if left == (_cross(c, d, b) >= 0):
        return False
    # The line's ends must lie on different sides of (or on) the move's own segment.
    return _cross(a, b, c) * _cross(a, b, d) <= 0


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def in_zone(point: Point, zone: Sequence[Point] | None) -> bool:
    """Whether `point` lies in the polygon `zone` (ray casting; the boundary counts as inside; no zone: everywhere)."""
    if not zone:
        return True
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(zone, [*zone[1:], zone[0]], strict=True):
        if (abs(_cross((x1, y1), (x2, y2), (x, y))) < 1e-12
                and min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)):
            return True
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _intersection(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not touch or both are empty)."""
    inter = _intersection(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _algorithm(algorithm: str) -> Algorithm:
    try:
        return Algorithm(algorithm)
    except ValueError:
        raise ValueError(f"unknown algorithm {algorithm!r}") from None


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _point(value, what: str) -> tuple[float, float]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise ValueError(f"{what}: a point is two numbers (x, y), got {value!r}")
    if not all(_number(v) and 0 <= v <= 1 for v in value):
        raise ValueError(f"{what}: coordinates must be finite numbers between 0 and 1, got {value!r}")
    return float(value[0]), float(value[1])


def params_with_defaults(algorithm: str, params: Mapping | None) -> dict:
    """The rule's params merged over DEFAULTS[algorithm], checked. Raises ValueError naming the offending key."""
    defaults = DEFAULTS[_algorithm(algorithm)]
    unknown = sorted(set(params or {}) - set(defaults))
    if unknown:
        raise ValueError(f"unknown parameter(s) for {algorithm}: {', '.join(unknown)}")
    merged = {**defaults, **(params or {})}
    for key, value in merged.items():
        if key in _COUNTS and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise ValueError(f"{key} must be a whole number of at least 1, got {value!r}")
        if key in _SECONDS and not (_number(value) and value >= 0):
            raise ValueError(f"{key} must be a number of seconds, not negative, got {value!r}")
        if key in _FRACTIONS and not (_number(value) and 0 <= value <= 1):
            raise ValueError(f"{key} must be a number between 0 and 1, got {value!r}")
    if algorithm == Algorithm.PEOPLE_FLOW:
        if merged["mode"] not in ("occupancy", "line"):
            raise ValueError(f"mode must be 'occupancy' or 'line', got {merged['mode']!r}")
        if not merged["interval_seconds"] > 0:
            raise ValueError("interval_seconds must be more than 0")
        if merged["threshold"] is not None and not (_number(merged["threshold"]) and merged["threshold"] >= 0):
            raise ValueError(f"threshold must be empty or a number, not negative, got {merged['threshold']!r}")
        if merged["mode"] == "line" or merged["line"] is not None:
            if not isinstance(merged["line"], Sequence) or len(merged["line"]) != 2:
                raise ValueError("line mode needs line: two points [[x, y], [x, y]]")
            merged["line"] = tuple(_point(pt, "line") for pt in merged["line"])
    return merged


def zone_check(zone) -> list[tuple[float, float]]:
    """A drawn zone as a list of (x, y) floats. Raises ValueError unless it has at least 3 points, each two finite
    numbers in [0, 1]. (No zone at all means the whole image: callers store None, not an empty polygon.)"""
    if not isinstance(zone, Sequence) or isinstance(zone, str) or len(zone) < 3:
        raise ValueError("a zone needs at least 3 points")
    return [_point(pt, "zone") for pt in zone]
