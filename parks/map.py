"""The operator's one map of a park: every layer read in a constant number of queries, whatever the park's size.

Layers: people in each building now (from passages), parking occupancy by car park, chargers free / busy / faulty /
offline with today's energy and their latest charge, open security events from the park's cameras, enterprises
and their headcount, lamp posts and what they play.  ``park_map_geojson`` turns it into one GeoJSON
FeatureCollection (WGS-84 longitude, latitude); ``map_layer_of`` says which layer a change on the feed touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery, Sum
from django.utils import timezone

from parks.lampposts import Playlist, playlist_now
from parks.models import (
    Building,
    Charger,
    ChargingSession,
    Connector,
    EmployeeStatus,
    Enterprise,
    LampPost,
    Park,
    ParkingArea,
)
from parks.selectors import parking_areas_with_occupancy, presence_by_building

#: The feed's object types and the map layer each moves (``map_layer_of``).
LAYERS = {
    "parks.passage": "people", "parks.barrierevent": "parking", "parks.parkingstay": "parking",
    "parks.charger": "chargers", "parks.chargingsession": "chargers", "vision.situation": "security",
    "parks.employee": "enterprises", "parks.playlistslot": "lamp_posts", "parks.promovideo": "lamp_posts",
}


@dataclass
class BuildingLayer:
    building: Building
    people: int
    enterprises: list[Enterprise]


@dataclass
class ChargerLayer:
    charger: Charger
    state: str  # offline, faulty, busy, free
    sessions_today: int
    energy_today_wh: int
    latest: ChargingSession | None


@dataclass
class SecurityEvent:
    situation_id: int
    algorithm: str
    camera: str
    longitude: float | None
    latitude: float | None
    started_at: datetime
    last_seen_at: datetime
    peak: int
    case_number: str | None


@dataclass
class LampPostLayer:
    post: LampPost
    playlist: Playlist


@dataclass
class ParkMap:
    park: Park
    at: datetime
    buildings: list[BuildingLayer]
    people_outside: int  # on the grounds, in no building
    parking: list[ParkingArea]  # annotated: capacity, occupied, overstays
    chargers: list[ChargerLayer]
    security: list[SecurityEvent]
    enterprises: list[Enterprise]  # annotated: headcount
    lamp_posts: list[LampPostLayer]
    layers: list[str] = field(default_factory=lambda: sorted(set(LAYERS.values())))

    @property
    def people(self) -> int:
        return self.people_outside + sum(layer.people for layer in self.buildings)


def charger_state(charger: Charger) -> str:
    """For the map: offline, faulty (a connector Faulted), busy (charging or about to), or free; from its
    connectors as prefetched (the charger as a whole, connector 0, when it reported no connector)."""
    statuses = {c.status for c in charger.connectors.all() if c.number > 0} or {c.status for c in
                                                                              charger.connectors.all()}
    if not charger.connected:
        return "offline"
    if "Faulted" in statuses:
        return "faulty"
    if statuses & {"Charging", "Preparing", "SuspendedEV", "SuspendedEVSE", "Finishing"}:
        return "busy"
    return "free"


def park_map(*, park: Park, now: datetime | None = None) -> ParkMap:
    """Every layer of ``park``'s map at ``now`` (default: now).  Who may call: a selector; the caller has checked
    the viewer is the park's operator.  About a dozen queries, whatever the number of buildings, chargers, events."""
    from vision.models import Situation

    now = now or timezone.now()
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    presence = dict(presence_by_building(park=park))
    enterprises = list(Enterprise.objects.filter(park=park).annotate(
        headcount=Count("employees", filter=Q(employees__status=EmployeeStatus.ACTIVE), distinct=True))
        .prefetch_related("buildings").order_by("name"))
    buildings = []
    for building in Building.objects.filter(park=park).order_by("code"):
        tenants = [e for e in enterprises if any(b.pk == building.pk for b in e.buildings.all())]
        buildings.append(BuildingLayer(building=building, people=presence.get(building.pk, 0), enterprises=tenants))
    chargers = list(Charger.objects.filter(park=park).select_related("building").prefetch_related(
        Prefetch("connectors", Connector.objects.order_by("number"))).order_by("identity"))
    today = {row["charger_id"]: row for row in ChargingSession.objects.filter(
        charger__park=park, started_at__gte=midnight).values("charger_id").annotate(
        sessions=Count("id"), first=Sum("meter_start"), last=Sum("meter_last"))}
    newest = ChargingSession.objects.filter(charger=OuterRef("charger")).order_by("-started_at", "-id").values("pk")
    latest = {session.charger_id: session for session in ChargingSession.objects.filter(
        charger__park=park, pk=Subquery(newest[:1])).select_related("charger", "employee__user")}
    charger_layers = [ChargerLayer(charger=c, state=charger_state(c),
                                   sessions_today=today.get(c.pk, {}).get("sessions", 0),
                                   energy_today_wh=max(0, (today.get(c.pk, {}).get("last") or 0)
                                                       - (today.get(c.pk, {}).get("first") or 0)),
                                   latest=latest.get(c.pk)) for c in chargers]
    situations = (Situation.objects.filter(camera__parks=park, ended_at__isnull=True)
                  .select_related("rule", "camera__record", "event").order_by("-started_at")[:200])
    security = [SecurityEvent(situation_id=s.pk, algorithm=s.rule.algorithm, camera=s.camera.record.name,
                              longitude=s.camera.record.lng, latitude=s.camera.record.lat, started_at=s.started_at,
                              last_seen_at=s.last_seen_at, peak=s.peak,
                              case_number=s.event.case_number if s.event_id else None) for s in situations]
    posts = list(LampPost.objects.filter(park=park, active=True).select_related("building").order_by("code"))
    playlists = playlist_now(posts=posts, now=now)
    return ParkMap(
        park=park, at=now, buildings=buildings, people_outside=presence.get(None, 0),
        parking=list(parking_areas_with_occupancy([park.pk]).select_related("building")),
        chargers=charger_layers, security=security, enterprises=enterprises,
        lamp_posts=[LampPostLayer(post=post, playlist=playlists[post.pk]) for post in posts])


def _point(longitude, latitude) -> dict | None:
    if longitude is None or latitude is None:
        return None
    return {"type": "Point", "coordinates": [longitude, latitude]}


def park_map_geojson(found: ParkMap) -> dict:
    """The map as one GeoJSON FeatureCollection: a feature per building, car park, charger, security event and lamp
    post (``properties.layer`` says which; a charger or car park without coordinates of its own stands at its
    building's)."""
    features = []

    def add(layer: str, geometry: dict | None, **properties) -> None:
        features.append({"type": "Feature", "geometry": geometry, "properties": {"layer": layer, **properties}})

    for layer in found.buildings:
        b = layer.building
        add("buildings", _point(b.longitude, b.latitude), code=b.code, name=b.name, people=layer.people,
            enterprises=[{"name": e.name, "headcount": e.headcount} for e in layer.enterprises])
    for area in found.parking:
        where = _point(area.longitude, area.latitude) or (
            _point(area.building.longitude, area.building.latitude) if area.building_id else None)
        add("parking", where, code=area.code, name=area.name, capacity=area.capacity, occupied=area.occupied,
            free=max(0, area.capacity - area.occupied), overstays=area.overstays)
    for layer in found.chargers:
        c = layer.charger
        add("chargers", _point(c.building.longitude, c.building.latitude) if c.building_id else None,
            identity=c.identity, name=c.name, state=layer.state, sessions_today=layer.sessions_today,
            energy_today_kwh=layer.energy_today_wh / 1000)
    for event in found.security:
        add("security", _point(event.longitude, event.latitude), algorithm=event.algorithm, camera=event.camera,
            started_at=event.started_at.isoformat(), peak=event.peak, case_number=event.case_number)
    for layer in found.lamp_posts:
        p = layer.post
        add("lamp_posts", _point(p.longitude, p.latitude), code=p.code, name=p.name,
            slot=layer.playlist.slot.name if layer.playlist.slot else None,
            playing=[video.title for video in layer.playlist.videos])
    return {"type": "FeatureCollection", "features": features,
            "properties": {"park": found.park.code, "at": found.at.isoformat(), "people": found.people}}


def map_layer_of(object_type: str, object_id: int, *, park: Park, facts: dict) -> str | None:
    """The layer of ``park``'s map a change of the feed moves, or None when it is not about this park's map (one
    query at most)."""
    from parks.models import BarrierEvent, Employee, ParkingStay, Passage, PlaylistSlot, PromoVideo
    from vision.models import Situation

    layer = LAYERS.get(object_type)
    if layer is None:
        return None
    if facts.get("park") is not None:
        return layer if facts["park"] == park.pk else None
    lookups = {"parks.passage": (Passage, "park"), "parks.barrierevent": (BarrierEvent, "park"),
               "parks.parkingstay": (ParkingStay, "park"), "parks.charger": (Charger, "park"),
               "parks.chargingsession": (ChargingSession, "charger__park"), "vision.situation": (Situation,
                                                                                              "camera__parks"),
               "parks.employee": (Employee, "enterprise__park"), "parks.playlistslot": (PlaylistSlot, "park"),
               "parks.promovideo": (PromoVideo, "park")}
    model, path = lookups[object_type]
    return layer if model.objects.filter(pk=object_id, **{path: park}).exists() else None
