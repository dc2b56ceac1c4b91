"""The camera algorithms as pure functions over detections: no database, no model."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from vision.detections import Detection
from vision.rules import (
    DEFAULTS,
    NEEDS,
    Algorithm,
    FlowSample,
    evaluate,
    in_zone,
    iou,
    params_with_defaults,
    zone_check,
)

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
LEFT_HALF = [(0, 0), (0.5, 0), (0.5, 1), (0, 1)]
# A U: the notch x in (0.4, 0.6), y in (0.4, 1] is outside.
U_ZONE = [(0, 0), (1, 0), (1, 1), (0.6, 1), (0.6, 0.4), (0.4, 0.4), (0.4, 1), (0, 1)]
QUICK = {"min_seconds": 0, "min_hits": 1, "clear_seconds": 0, "min_clears": 1}


def thing(label, x, y, confidence=0.9, size=0.04):
    """A detection standing (foot) at (x, y)."""
    return Detection(label, confidence, (x - size / 2, y - size, x + size / 2, y))


def person(x, y, confidence=0.9):
    return thing("person", x, y, confidence)


def walker(cx, cy):
    """A person whose box is centred on (cx, cy)."""
    return Detection("person", 0.9, (cx - 0.02, cy - 0.05, cx + 0.02, cy + 0.05))


def run(algorithm, frames, *, zone=None, params=None, state=None):
    """Feed (seconds after T0, detections) frames; return the verdicts and the final state."""
    state = state or {}
    verdicts = []
    for seconds, detections in frames:
        verdict, state = evaluate(algorithm, detections=detections, at=T0 + timedelta(seconds=seconds), zone=zone,
                                  params=params or {}, state=state)
        verdicts.append(verdict)
    return verdicts, state


def at_seconds(verdicts, frames, flag):
    return [frames[i][0] for i, v in enumerate(verdicts) if getattr(v, flag)]


CROWD = {"min_people": 3, "min_seconds": 20, "min_hits": 3, "clear_seconds": 30, "min_clears": 2}
FOUR = [person(0.1 * i + 0.1, 0.5) for i in range(4)]


def test_crowd_starts_once_at_the_third_snapshot_and_ends_once_after_clear_seconds():
    frames = [(0, FOUR), (10, FOUR), (20, FOUR), (30, []), (40, []), (50, []), (60, []), (70, [])]
    verdicts, _ = run(Algorithm.CROWD, frames, params=CROWD)
    assert at_seconds(verdicts, frames, "started") == [20]
    assert at_seconds(verdicts, frames, "ended") == [60]
    assert [v.active for v in verdicts] == [False, False, True, True, True, True, False, False]
    assert verdicts[0].count == 4 and len(verdicts[0].evidence) == 4
    assert verdicts[3].count == 0


def test_crowd_flicker_neither_ends_an_active_situation_nor_starts_a_pending_one_early():
    frames = [(0, FOUR), (10, FOUR), (20, FOUR), (30, []), (40, FOUR), (50, []), (60, []), (70, [])]
    verdicts, _ = run(Algorithm.CROWD, frames, params=CROWD)
    assert at_seconds(verdicts, frames, "started") == [20]
    assert at_seconds(verdicts, frames, "ended") == []  # clearing restarted at 50: only 20 s by 70
    assert all(v.active for v in verdicts[2:])

    frames = [(0, FOUR), (10, FOUR), (20, []), (30, FOUR), (40, FOUR), (50, FOUR)]
    verdicts, _ = run(Algorithm.CROWD, frames, params=CROWD)
    assert at_seconds(verdicts, frames, "started") == [50]


def test_a_duplicate_or_out_of_order_snapshot_changes_nothing():
    frames = [(0, FOUR), (10, FOUR), (20, FOUR)]
    _, state = run(Algorithm.CROWD, frames, params=CROWD)
    for seconds, detections in [(20, FOUR), (5, []), (20, [])]:
        verdict, again = evaluate(Algorithm.CROWD, detections=detections, at=T0 + timedelta(seconds=seconds),
                                  zone=None, params=CROWD, state=state)
        assert again == state
        assert verdict.active and not verdict.started and not verdict.ended

    # Reprocessing the whole run on its own result is idempotent.
    verdicts, replayed = run(Algorithm.CROWD, frames, params=CROWD, state=state)
    assert replayed == state
    assert not any(v.started or v.ended for v in verdicts)


def test_in_zone_ray_casting_with_boundary_and_concave_zone():
    assert in_zone((0.2, 0.8), U_ZONE)
    assert in_zone((0.5, 0.2), U_ZONE)
    assert not in_zone((0.5, 0.8), U_ZONE)  # in the notch
    assert in_zone((0.4, 0.7), U_ZONE)  # on the notch's edge
    assert in_zone((1, 1), U_ZONE)  # a vertex
    assert in_zone((0.5, 0.4), U_ZONE)  # the notch's floor
    assert not in_zone((1.01, 0.5), U_ZONE)
    assert in_zone((0.99, 0.99), None) and in_zone((0.99, 0.99), [])
    assert in_zone((0.5, 0.5), [[0, 0], [1, 0], [1, 1]])  # a zone fresh from JSON (lists)


def test_people_outside_the_zone_do_not_count():
    inside = [person(0.2, 0.8), person(0.3, 0.8), person(0.5, 0.2)]
    outside = [person(0.5, 0.8), person(0.45, 0.9), person(0.8, 1.2)]
    verdict, _ = evaluate(Algorithm.CROWD, detections=inside + outside, at=T0, zone=U_ZONE,
                          params={**CROWD, **QUICK}, state={})
    assert verdict.count == 3 and set(verdict.evidence) == set(inside)
    assert verdict.started

    verdict, _ = evaluate(Algorithm.CROWD, detections=[person(0.7, 0.5)] * 5, at=T0, zone=LEFT_HALF,
                          params={**CROWD, **QUICK}, state={})
    assert verdict.count == 0 and not verdict.active


def test_low_confidence_detections_are_ignored():
    weak = [person(0.1, 0.5, confidence=0.2) for _ in range(5)]
    verdict, _ = evaluate(Algorithm.CROWD, detections=weak + [person(0.2, 0.5, 0.35)], at=T0, zone=None,
                          params={**CROWD, **QUICK}, state={})
    assert verdict.count == 1 and not verdict.active
    verdict, _ = evaluate(Algorithm.CROWD, detections=weak, at=T0, zone=None,
                          params={**CROWD, **QUICK, "min_confidence": 0.1}, state={})
    assert verdict.count == 5 and verdict.active


def test_street_trading_counts_stall_objects_on_the_pavement():
    params = {"min_objects": 2, "min_seconds": 10, "min_hits": 2, "clear_seconds": 10, "min_clears": 2}
    stuff = [thing("table", 0.2, 0.6), thing("chair", 0.3, 0.6), thing("car", 0.2, 0.7), thing("umbrella", 0.8, 0.6)]
    frames = [(0, stuff), (10, stuff), (20, stuff[2:]), (30, stuff[2:])]
    verdicts, _ = run(Algorithm.STREET_TRADING, frames, zone=LEFT_HALF, params=params)
    assert verdicts[0].count == 2 and {d.label for d in verdicts[0].evidence} == {"table", "chair"}
    assert at_seconds(verdicts, frames, "started") == [10]
    assert at_seconds(verdicts, frames, "ended") == [30]


def test_piled_garbage():
    params = {"min_seconds": 60, "min_hits": 2}
    frames = [(0, [thing("garbage", 0.2, 0.5)]), (30, [thing("garbage", 0.2, 0.5), person(0.2, 0.6)]),
              (60, [thing("garbage", 0.2, 0.5)])]
    verdicts, _ = run(Algorithm.PILED_GARBAGE, frames, zone=LEFT_HALF, params=params)
    assert at_seconds(verdicts, frames, "started") == [60]
    assert all(v.count == 1 for v in verdicts)

    verdicts, _ = run(Algorithm.PILED_GARBAGE, [(0, [thing("garbage", 0.8, 0.5), person(0.2, 0.5)])],
                      zone=LEFT_HALF, params=QUICK)
    assert verdicts[0].count == 0 and not verdicts[0].active


def test_overflowing_bin_detected_as_such():
    verdicts, _ = run(Algorithm.OVERFLOWING_BIN, [(0, [thing("overflowing_bin", 0.2, 0.5), thing("bin", 0.3, 0.5)])],
                      zone=LEFT_HALF, params=QUICK)
    assert verdicts[0].started and verdicts[0].count == 1
    assert [d.label for d in verdicts[0].evidence] == ["overflowing_bin"]


def test_overflowing_bin_as_garbage_on_a_bin():
    bin_ = Detection("bin", 0.9, (0.2, 0.4, 0.3, 0.6))
    on_it = Detection("garbage", 0.8, (0.25, 0.35, 0.35, 0.45))
    beside = Detection("garbage", 0.8, (0.32, 0.4, 0.4, 0.6))
    verdict, _ = evaluate(Algorithm.OVERFLOWING_BIN, detections=[bin_, on_it, beside], at=T0, zone=LEFT_HALF,
                          params=QUICK, state={})
    assert verdict.active and verdict.count == 1 and set(verdict.evidence) == {bin_, on_it}

    verdict, _ = evaluate(Algorithm.OVERFLOWING_BIN, detections=[bin_, beside], at=T0, zone=LEFT_HALF,
                          params=QUICK, state={})
    assert not verdict.active and verdict.count == 0
    # A bin outside the zone does not count, garbage on it or not.
    verdict, _ = evaluate(Algorithm.OVERFLOWING_BIN, detections=[bin_, on_it], at=T0, zone=[(0.5, 0), (1, 0), (1, 1)],
                          params=QUICK, state={})
    assert not verdict.active


def car(x, y=0.6, label="car"):
    return Detection(label, 0.9, (x, y - 0.1, x + 0.2, y))


PARKING = {"min_seconds": 120, "stationary_iou": 0.6, "clear_seconds": 60, "min_clears": 2}


def test_a_car_staying_put_for_min_seconds_starts_illegal_parking():
    wobble = [car(0.1), car(0.105), car(0.1), car(0.102), car(0.1)]  # detector jitter: IoU stays near 0.9
    frames = [(60 * i, [c]) for i, c in enumerate(wobble)] + [(300, []), (330, []), (360, [])]
    verdicts, state = run(Algorithm.ILLEGAL_PARKING, frames, params=PARKING)
    assert at_seconds(verdicts, frames, "started") == [120]
    assert [v.count for v in verdicts[:5]] == [0, 0, 1, 1, 1]
    assert verdicts[2].evidence == (wobble[2],)
    assert at_seconds(verdicts, frames, "ended") == [360]
    assert state["vehicles"] == []


def test_a_moving_car_never_starts():
    frames = [(60 * i, [car(0.05 + 0.1 * i)]) for i in range(6)]  # IoU with the previous box 1/3
    assert iou(car(0.05).box, car(0.15).box) < 0.6
    verdicts, _ = run(Algorithm.ILLEGAL_PARKING, frames, params=PARKING)
    assert not any(v.active for v in verdicts)


def test_two_cars_are_tracked_independently():
    a, b = car(0.05), car(0.6, y=0.8, label="van")
    frames = [(0, [a]), (60, [a, b]), (120, [b, a]), (180, [a, b]), (240, [b]), (300, [b])]
    verdicts, _ = run(Algorithm.ILLEGAL_PARKING, frames, params=PARKING)
    assert [v.count for v in verdicts] == [0, 0, 1, 2, 1, 1]
    assert verdicts[2].evidence == (a,)
    assert at_seconds(verdicts, frames, "started") == [120]
    assert at_seconds(verdicts, frames, "ended") == []
    # Outside the no-parking zone nothing is tracked.
    verdicts, state = run(Algorithm.ILLEGAL_PARKING, frames, zone=[(0.5, 0), (1, 0), (1, 0.5)], params=PARKING)
    assert not any(v.active for v in verdicts) and state["vehicles"] == []


def test_people_flow_occupancy_takes_each_intervals_peak_and_alerts_over_threshold():
    crowd = [person(0.1 * i, 0.5) for i in range(6)]
    frames = [(10, crowd[:2]), (20, crowd[:5]), (40, crowd[:3]), (60, crowd[:1]), (70, crowd[:4]), (125, []),
              (130, crowd)]
    verdicts, state = run(Algorithm.PEOPLE_FLOW, frames, params={"interval_seconds": 60, "threshold": 4})
    assert [v.flow for v in verdicts] == [None, None, None, FlowSample(T0, 5), None,
                                          FlowSample(T0 + timedelta(seconds=60), 4), None]
    assert [v.count for v in verdicts] == [2, 5, 3, 1, 4, 0, 6]
    assert at_seconds(verdicts, frames, "started") == [60]
    assert at_seconds(verdicts, frames, "ended") == [125]
    assert state["interval_count"] == 6
    json.dumps(state)


def test_people_flow_without_threshold_never_alerts():
    frames = [(0, [person(0.5, 0.5)] * 50), (300, [])]
    verdicts, _ = run(Algorithm.PEOPLE_FLOW, frames)
    assert verdicts[1].flow == FlowSample(T0, 50)
    assert not any(v.active for v in verdicts)


def test_people_flow_counts_line_crossings_not_walking_along():
    def snapshot(i):
        down = walker(0.2, 0.35 + 0.1 * i)  # crosses y=0.5 between snapshots 1 and 2
        up = walker(0.8, 0.65 - 0.1 * i)  # crosses the other way, same time
        along = walker(0.35 + 0.1 * i, 0.52)  # walks beside the line
        return [down, up, along]

    params = {"mode": "line", "line": [[0.1, 0.5], [0.9, 0.5]], "interval_seconds": 300, "threshold": 1}
    frames = [(10 * i, snapshot(i)) for i in range(4)] + [(300, [])]
    verdicts, state = run(Algorithm.PEOPLE_FLOW, frames, params=params)
    assert [v.count for v in verdicts] == [0, 0, 2, 0, 0]
    assert set(verdicts[2].evidence) == set(snapshot(2)[:2])
    assert verdicts[4].flow == FlowSample(T0, 2)
    assert verdicts[4].started
    json.dumps(state)


def test_params_with_defaults_merges_and_rejects_bad_values():
    assert params_with_defaults("crowd", {"min_people": 4}) == {**DEFAULTS["crowd"], "min_people": 4}
    assert params_with_defaults("people_flow", None)["mode"] == "occupancy"
    with pytest.raises(ValueError, match="unknown parameter.*min_poeple"):
        params_with_defaults("crowd", {"min_poeple": 4})
    with pytest.raises(ValueError, match="min_seconds"):
        params_with_defaults("crowd", {"min_seconds": -5})
    with pytest.raises(ValueError, match="min_hits"):
        params_with_defaults("crowd", {"min_hits": True})
    with pytest.raises(ValueError, match="min_confidence"):
        params_with_defaults("crowd", {"min_confidence": "high"})
    with pytest.raises(ValueError, match="unknown algorithm"):
        params_with_defaults("loitering", {})
    with pytest.raises(ValueError, match="line mode needs line"):
        params_with_defaults("people_flow", {"mode": "line"})
    with pytest.raises(ValueError, match="mode"):
        params_with_defaults("people_flow", {"mode": "sideways"})
    with pytest.raises(ValueError, match="interval_seconds"):
        params_with_defaults("people_flow", {"interval_seconds": 0})
    with pytest.raises(ValueError, match="unknown parameter"):
        evaluate("crowd", detections=[], at=T0, zone=None, params={"nope": 1}, state={})


def test_zone_check():
    assert zone_check([[0, 0], [1, 0], [0.5, 1]]) == [(0.0, 0.0), (1.0, 0.0), (0.5, 1.0)]
    with pytest.raises(ValueError, match="at least 3 points"):
        zone_check([(0, 0), (1, 1)])
    with pytest.raises(ValueError, match="between 0 and 1"):
        zone_check([(0, 0), (1.5, 0), (0, 1)])
    with pytest.raises(ValueError, match="between 0 and 1"):
        zone_check([(0, 0), (math.nan, 0), (0, 1)])
    with pytest.raises(ValueError, match="two numbers"):
        zone_check([(0, 0), (1, 0, 0), (0, 1)])


def test_needs_covers_every_algorithm():
    assert set(NEEDS) == set(Algorithm.values) == set(DEFAULTS)
    assert "person" in NEEDS[Algorithm.CROWD] and "car" in NEEDS[Algorithm.ILLEGAL_PARKING]


@pytest.mark.parametrize("algorithm", Algorithm.values)
def test_state_is_json_and_the_given_state_is_never_mutated(algorithm):
    params = {"mode": "line", "line": [[0, 0.5], [1, 0.5]]} if algorithm == Algorithm.PEOPLE_FLOW else {}
    seen = [person(0.3, 0.5), car(0.1), thing("garbage", 0.5, 0.5), thing("table", 0.6, 0.6), thing("bin", 0.5, 0.5)]
    state = {}
    for i in range(8):
        before = copy.deepcopy(state)
        _, new = evaluate(algorithm, detections=seen, at=T0 + timedelta(seconds=100 * i), zone=U_ZONE,
                                params=params, state=state)
        assert state == before
        assert json.loads(json.dumps(new)) == new
        state = new


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="timezone"):
        evaluate("crowd", detections=[], at=datetime(2026, 11, 25, 8, 0), zone=None, params={}, state={})
