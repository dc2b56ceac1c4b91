"""Business parks' data, one module per room: ``site`` (parks, buildings, gates, enterprises, employees, staff),
``access`` (one-code access: invitations, credentials, passages, presence), ``charging`` (OCPP chargers and
sessions), ``parking`` (car parks, vehicles, barrier events, stays), ``lampposts`` (screens, videos, playlists), ``board`` (the enterprise-service board)."""

from parks.models.access import (
    Direction,
    Invitation,
    Passage,
    PassageMode,
    PassageResult,
    PassCredential,
    Presence,
    SubjectKind,
)
from parks.models.board import BoardCategory, BoardKind, BoardPost, BoardResponse, BoardStatus
from parks.models.charging import (
    Charger,
    ChargerMessage,
    ChargingSession,
    Connector,
    ConnectorStatus,
    SessionStatus,
)
from parks.models.lampposts import LampPost, PlaylistEntry, PlaylistSlot, PlayReport, PromoVideo, VideoStatus
from parks.models.parking import (
    BarrierEvent,
    BarrierState,
    ParkingArea,
    ParkingSpace,
    ParkingStay,
    SpaceKind,
    Vehicle,
)
from parks.models.site import (
    Building,
    Employee,
    EmployeeStatus,
    Enterprise,
    Floor,
    Gate,
    GateKind,
    KeyState,
    Park,
    ParkKey,
    ParkStaff,
    StaffRole,
)

__all__ = [
    "BarrierEvent", "BarrierState", "BoardCategory", "BoardKind", "BoardPost", "BoardResponse", "BoardStatus", "Building", "Charger", "ChargerMessage", "ChargingSession", "Connector",
    "ConnectorStatus", "Direction", "Employee", "EmployeeStatus", "Enterprise", "Floor", "Gate", "GateKind",
    "Invitation", "KeyState", "LampPost", "Park", "ParkKey", "ParkStaff", "ParkingArea", "ParkingSpace", "ParkingStay",
    "Passage", "PassageMode", "PassageResult", "PassCredential", "PlayReport", "PlaylistEntry", "PlaylistSlot",
    "Presence", "PromoVideo", "SessionStatus", "SpaceKind", "StaffRole", "SubjectKind", "Vehicle", "VideoStatus",
]
