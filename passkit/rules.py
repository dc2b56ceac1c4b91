"""Who may pass which gate, when: the one rule that the server (``gatePass``) and an offline gate both apply.

A credential carries its holder's **access** (claim ``ACCESS``): their role in the park, the buildings they may
enter, and, for a visitor, the gates they were invited through.  A gate knows its own **rule**: its kind, its
building, and the time windows it lets employees and visitors through.  ``access_refusal`` decides from the two
and the local time, with no database and no network:

- the operator's staff pass every gate at any time;
- an employee passes the park's entrances and barriers and every canteen, and the doors of the buildings their
  enterprise occupies, within the gate's windows;
- a visitor passes the park's entrances, the gates they were invited through and the doors of the buildings they
  were invited to, within the gate's windows and their invitation's window (``not_before`` .. expiry).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

#: CWT claim (private) holding a credential's access: ``{"r": role, "b": [building codes], "g": [gate codes]}``.
CLAIM_ACCESS = -65539
#: CWT ``nbf``: a visitor's window opens.
CLAIM_NOT_BEFORE = 5


class Role:
    OPERATOR = "operator"
    EMPLOYEE = "employee"
    VISITOR = "visitor"


class GateKind:
    ENTRANCE = "entrance"
    BUILDING = "building"
    CANTEEN = "canteen"
    PARKING = "parking"


@dataclass(frozen=True)
class Access:
    """What a credential allows: read from its claims (``Access.from_claim``)."""

    role: str
    buildings: frozenset[str] = frozenset()
    gates: frozenset[str] = frozenset()
    not_before: int = 0

    def claim(self) -> dict:
        return {"r": self.role, "b": sorted(self.buildings), "g": sorted(self.gates)}

    @classmethod
    def from_claim(cls, value, not_before=None) -> Access | None:
        """The access in a credential's claim; None when it is missing or of the wrong shape."""
        if not isinstance(value, dict) or value.get("r") not in (Role.OPERATOR, Role.EMPLOYEE, Role.VISITOR):
            return None
        buildings, gates = value.get("b", []), value.get("g", [])
        if not (isinstance(buildings, list) and isinstance(gates, list)
                and all(isinstance(item, str) for item in (*buildings, *gates))):
            return None
        return cls(role=value["r"], buildings=frozenset(buildings), gates=frozenset(gates),
                   not_before=not_before if isinstance(not_before, int) else 0)


@dataclass(frozen=True)
class Window:
    """Open on ``days`` (ISO weekdays, Monday 1) from ``start`` to ``end`` local time (``end`` before ``start``:
    across midnight)."""

    days: frozenset[int]
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        moment = local.time()
        if self.start <= self.end:
            return local.isoweekday() in self.days and self.start <= moment < self.end
        if moment >= self.start:
            return local.isoweekday() in self.days
        return (local - timedelta(days=1)).isoweekday() in self.days and moment < self.end

    def as_dict(self) -> dict:
        return {"days": sorted(self.days), "from": self.start.strftime("%H:%M"), "to": self.end.strftime("%H:%M")}

    @classmethod
    def parse(cls, value: dict) -> Window:
        """``{"days": [1, 2, 3, 4, 5], "from": "07:00", "to": "22:00"}``; ``ValueError`` for anything else."""
        if not isinstance(value, dict):
            raise ValueError("a window is an object with days, from and to")
        days = value.get("days", list(range(1, 8)))
        if not (isinstance(days, list) and days and all(isinstance(d, int) and 1 <= d <= 7 for d in days)):
            raise ValueError("days are ISO weekdays, 1 (Monday) to 7")
        try:
            start, end = time.fromisoformat(value["from"]), time.fromisoformat(value["to"])
        except (KeyError, TypeError, ValueError):
            raise ValueError("from and to are times such as 07:00") from None
        if start == end:
            raise ValueError("a window cannot start when it ends")
        return cls(days=frozenset(days), start=start, end=end)


@dataclass(frozen=True)
class GateRule:
    """A gate as the rule sees it.  No ``windows``: always open."""

    code: str
    kind: str
    building: str | None = None
    windows: tuple[Window, ...] = ()
    #: The park's local time, as minutes east of UTC (Asia/Shanghai: 480).
    utc_offset_minutes: int = 480

    def as_dict(self) -> dict:
        return {"code": self.code, "kind": self.kind, "building": self.building,
                "windows": [window.as_dict() for window in self.windows], "utc_offset": self.utc_offset_minutes}

    @classmethod
    def from_dict(cls, value: dict) -> GateRule:
        return cls(code=value["code"], kind=value["kind"], building=value.get("building"),
                   windows=tuple(Window.parse(window) for window in value.get("windows", [])),
                   utc_offset_minutes=int(value.get("utc_offset", 480)))

    def open_at(self, now: float) -> bool:
        if not self.windows:
            return True
        local = datetime.fromtimestamp(now, timezone(timedelta(minutes=self.utc_offset_minutes)))
        return any(window.contains(local) for window in self.windows)


def access_refusal(access: Access, gate: GateRule, now: float) -> str | None:
    """Why ``access`` may not pass ``gate`` at ``now`` (a UNIX time): ``not_here``, ``closed`` (outside the
    gate's windows) or ``not_yet`` (a visitor before their window); None when it may."""
    if access.role == Role.OPERATOR:
        return None
    if not _place_allowed(access, gate):
        return "not_here"
    if access.not_before and now < access.not_before:
        return "not_yet"
    if not gate.open_at(now):
        return "closed"
    return None


def _place_allowed(access: Access, gate: GateRule) -> bool:
    if gate.kind in (GateKind.ENTRANCE, GateKind.PARKING):
        return True
    if access.role == Role.EMPLOYEE:
        return gate.kind == GateKind.CANTEEN or gate.building in access.buildings
    return gate.code in access.gates or (gate.building is not None and gate.building in access.buildings)


def windows_parse(values: Iterable[dict]) -> tuple[Window, ...]:
    """Windows from their JSON form; ``ValueError`` naming the first wrong one."""
    return tuple(Window.parse(value) for value in values)

