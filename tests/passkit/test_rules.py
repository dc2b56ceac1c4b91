"""Who may pass where and when: the rule the server and an offline gate share, as pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from passkit.rules import Access, GateRule, Role, Window, access_refusal

SHANGHAI = timezone(timedelta(hours=8))
#: Wednesday 2026-12-02, 09:00 in the park.
MORNING = datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI).timestamp()
NIGHT = datetime(2026, 12, 2, 23, 30, tzinfo=SHANGHAI).timestamp()
SATURDAY = datetime(2026, 12, 5, 9, 0, tzinfo=SHANGHAI).timestamp()

WEEKDAYS = Window.parse({"days": [1, 2, 3, 4, 5], "from": "07:00", "to": "22:00"})
ENTRANCE = GateRule(code="north", kind="entrance")
DOOR_A = GateRule(code="A-door", kind="building", building="A", windows=(WEEKDAYS,))
DOOR_B = GateRule(code="B-door", kind="building", building="B", windows=(WEEKDAYS,))
CANTEEN = GateRule(code="canteen", kind="canteen", building="C",
                   windows=(Window.parse({"from": "06:30", "to": "20:00"}),))

EMPLOYEE_A = Access(role=Role.EMPLOYEE, buildings=frozenset({"A"}))
OPERATOR = Access(role=Role.OPERATOR)
VISITOR_B = Access(role=Role.VISITOR, buildings=frozenset({"B"}), not_before=int(MORNING - 3600))


@pytest.mark.parametrize(("access", "gate", "now", "refusal"), [
    (EMPLOYEE_A, DOOR_A, MORNING, None),
    (EMPLOYEE_A, DOOR_B, MORNING, "not_here"),        # another enterprise's building
    (EMPLOYEE_A, CANTEEN, MORNING, None),             # the canteen serves the whole park
    (EMPLOYEE_A, DOOR_A, NIGHT, "closed"),            # outside the door's hours
    (EMPLOYEE_A, DOOR_A, SATURDAY, "closed"),
    (EMPLOYEE_A, ENTRANCE, NIGHT, None),              # entrances have no windows here
    (OPERATOR, DOOR_B, NIGHT, None),                  # the operator's staff pass everywhere, at any time
    (VISITOR_B, DOOR_B, MORNING, None),
    (VISITOR_B, DOOR_A, MORNING, "not_here"),
    (VISITOR_B, CANTEEN, MORNING, "not_here"),        # not invited to lunch
    (VISITOR_B, ENTRANCE, MORNING, None),
    (VISITOR_B, DOOR_B, MORNING - 7200, "not_yet"),   # before the invitation's window
])
def test_who_may_pass_where_and_when(access, gate, now, refusal):
    assert access_refusal(access, gate, now) == refusal


def test_a_visitor_invited_through_one_gate_passes_that_gate_only():
    access = Access(role=Role.VISITOR, gates=frozenset({"A-door"}))
    assert access_refusal(access, DOOR_A, MORNING) is None
    assert access_refusal(access, DOOR_B, MORNING) == "not_here"


def test_a_window_across_midnight_and_wrong_windows():
    late = Window.parse({"days": [5], "from": "22:00", "to": "02:00"})  # Friday night
    friday_late = datetime(2026, 12, 4, 23, 0, tzinfo=SHANGHAI)
    assert late.contains(friday_late) and late.contains(friday_late + timedelta(hours=2, minutes=59))
    assert not late.contains(friday_late + timedelta(hours=3))  # Saturday 02:00
    assert not late.contains(friday_late - timedelta(hours=2))  # Friday 21:00
    assert not late.contains(friday_late - timedelta(days=1))
    for wrong in ({"from": "25:00", "to": "02:00"}, {"days": [0], "from": "07:00", "to": "08:00"},
                  {"from": "07:00", "to": "07:00"}, "07-22", {"days": "weekdays", "from": "07:00", "to": "08:00"}):
        with pytest.raises(ValueError):
            Window.parse(wrong)


def test_a_rule_survives_its_json_form():
    assert GateRule.from_dict(DOOR_A.as_dict()) == DOOR_A
    assert Access.from_claim(VISITOR_B.claim(), VISITOR_B.not_before) == VISITOR_B
    assert Access.from_claim({"r": "king"}) is None and Access.from_claim({"r": "visitor", "b": [1]}) is None
