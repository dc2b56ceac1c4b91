"""One object of every node type and who may see it, the schema's node types and payloads, and rows for every list.

The generated tests build their worlds from here: ``tests/api/test_node_permissions.py`` (every node type and every
object field of every mutation payload against the roles of the ``users`` fixture) and
``tests/api/test_query_counts.py`` (the committed query counts of every root query).  A node type the schema gains
needs a ``NodeCase`` below; both tests fail, naming it, until it has one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Model
from django.utils import timezone
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type

from api.schema import schema
from approvals.models import ApplicationKind, LicenceKind
from core.audit import audit_record
from core.services import notification_send
from gridapp.geography.models import BaseRecord, RecordKind
from gridapp.geography.services import grid_assign_worker, grid_notice_post
from gridapp.incidents.models import EventCategory, Platform
from gridapp.incidents.services import event_report, event_transition
from tests.factories import (
    CommunityFactory,
    GridFactory,
    IndustryGridFactory,
    StreetFactory,
    UserFactory,
    jpeg_bytes,
)
from vision.models import Camera, CameraRule, FlowSample, Situation, SourceKind
from vision.rules import Algorithm

#: The users of the ``users`` fixture (tests/conftest.py), one per role.
ROLES = ("admin", "auditor", "operator", "worker", "worker2", "urban", "citizen", "business", "employee", "parkop")
DISTRICT_WIDE = frozenset({"admin", "auditor", "operator"})
EVERYONE = frozenset(ROLES)
SPOT = (120.31, 36.01)  # inside district.grid, the grid of ``worker``; 02-05 there is routed to ``urban``
YUNFAN = "青岛云帆信息技术有限公司"  # the world park's enterprise, where `employee` works


@dataclass
class World:
    """The fixtures a case is made from, and the objects made so far (one per node type, shared: a situation's
    incident is the event's case)."""

    users: dict
    district: object
    made: dict[str, Model] = field(default_factory=dict)
    serial: Iterator[int] = field(default_factory=itertools.count)

    def object(self, type_name: str) -> Model:
        """The object of ``type_name``'s case, made on first use."""
        if type_name not in self.made:
            self.made[type_name] = NODE_CASES[type_name].make(self)
        return self.made[type_name]


@dataclass(frozen=True)
class NodeCase:
    """How to make an object of one node type, and which roles may see it (the others, and no token, may not)."""

    make: Callable[[World], Model]
    sees: frozenset[str]


def _record(world: World, kind: str = RecordKind.SMALL_SHOP, grid=None) -> BaseRecord:
    n = next(world.serial)
    return BaseRecord.objects.create(kind=kind, external_id=f"CASE-{n}", name=f"记录{n}", address=f"地址{n}",
                                     lng=SPOT[0], lat=SPOT[1], grid=grid or world.district.grid)


def _event(world: World):
    """A citizen's report in ``worker``'s grid, with a photo, accepted and dispatched to ``worker`` by ``urban``."""
    n = next(world.serial)
    users = world.users
    event = event_report(reporter=users["citizen"], category_code="02-05", description=f"占道经营{n}",
                         lng=SPOT[0] - 0.008 + 0.0012 * (n % 30), lat=SPOT[1] - 0.008 + 0.0012 * (n // 30 % 30),
                         photos=[jpeg_bytes(size=(64, 48))]).event
    event_transition(actor=users["urban"], event_id=event.pk, action="accept")
    return event_transition(actor=users["urban"], event_id=event.pk, action="dispatch", assignee=users["worker"])


def _industry_grid(world: World):
    """A zone of ``urban``'s department over ``worker``'s grid."""
    zone = IndustryGridFactory(department=world.users["urban"].department, lng=120.30, lat=36.00, size=0.04)
    zone.basic_grids.add(world.district.grid)
    return zone


def _camera(world: World) -> Camera:
    camera = Camera.objects.create(record=_record(world, RecordKind.CAMERA), source_kind=SourceKind.FILE,
                                   source="bus.jpg")
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD)
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.PEOPLE_FLOW)
    return camera


def _situation(world: World, camera: Camera | None = None) -> Situation:
    camera = camera or world.object("Camera")
    now = timezone.now()
    return Situation.objects.create(rule=camera.rules.get(algorithm=Algorithm.CROWD), camera=camera, started_at=now,
                                    last_seen_at=now, peak=4, event=world.object("Event"))


def _school(world: World):
    """The business's school (represented by `business`), with the catalogue its licences need."""
    from accounts.models import Department
    from approvals.catalogue import catalogue_load
    from approvals.identity import credit_code_check
    from approvals.services import holder_register

    catalogue_load(LicenceKind, Department)
    return holder_register(kind="organisation", number="52370202MJ1234567" + credit_code_check("52370202MJ1234567"),
                           name="青岛海韵培训学校", representative=world.users["business"])


def _certificate(world: World):
    """An outdoor advertising permit (issued by `urban`'s department) held by the business's school."""
    from approvals.services import certificate_issue

    kind = LicenceKind.objects.get(code="outdoor_advertising")
    kind.department = world.users["urban"].department
    kind.save(update_fields=["department"])
    return certificate_issue(kind=kind, holder=world.object("Holder"), actor=world.users["urban"],
                             fields={"location": "香港中路 10 号", "area": "12", "medium": "墙面"})


def _application_kind(world: World):
    from accounts.models import Department
    from approvals.application_catalogue import application_catalogue_load
    from approvals.models import ApplicationKind, MaterialRequirement
    from core.workflow.models import WorkflowDefinition, WorkflowStep

    world.object("Holder")  # loads the licence catalogue
    application_catalogue_load(licence_kinds=LicenceKind, departments=Department, application_kinds=ApplicationKind,
                               requirements=MaterialRequirement, definitions=WorkflowDefinition, steps=WorkflowStep)
    return ApplicationKind.objects.get(code="outdoor_advertising-new")


def _application(world: World):
    """A draft by the business for its school (nobody holds a step of a draft's workflow yet)."""
    from approvals.applications import application_create

    return application_create(actor=world.users["business"], kind=world.object("ApplicationKind"),
                              holder=world.object("Holder"),
                              fields={"location": "香港中路 10 号", "area": "12", "medium": "墙面"})


def _application_submitted(world: World, n: int):
    """An application of another school the business represents, submitted: it waits at the urban department's
    first step, which `urban` holds as its clerk (the enterprise registry proves the business licence)."""
    from approvals.applications import application_confirm, application_create, application_preview, application_submit
    from approvals.identity import credit_code_check
    from approvals.models import RegistryRecord, StaffDuty
    from approvals.services import authorisation_grant, holder_register

    business = world.users["business"]
    code = f"52370202MJ{n:07d}"
    school = holder_register(kind="organisation", number=code + credit_code_check(code), name=f"第{n}培训学校",
                             representative=business)
    StaffDuty.objects.get_or_create(user=world.users["urban"], role="clerk")
    RegistryRecord.objects.create(source="enterprise_registry", record="business_licence",
                                  subject_digest=school.id_digest, record_id=f"QD-{n}", updated_at=timezone.now())
    application = application_create(actor=business, kind=world.object("ApplicationKind"), holder=school,
                                     fields={"location": "香港中路 10 号", "area": "12", "medium": "墙面"})
    _application_, _results, digest = application_preview(actor=business, application_id=application.pk)
    application_confirm(actor=business, application_id=application.pk, digest=digest)
    application = application_submit(actor=business, application_id=application.pk)
    authorisation_grant(organisation=school, agent=world.users["citizen"], granted_by=business,
                        valid_until=timezone.now() + timedelta(days=30))
    return application


def _licence_kind(world: World):
    world.object("Holder")  # loads the catalogue
    return LicenceKind.objects.get(code="pet_dog")


def _park(world: World):
    """The software park: building A (the canteen's too), its door and canteen, Yunfan in A, `employee` working
    there, `parkop` its operator; park keys in a folder of the test's own (the autouse fixture's)."""
    from parks.models import Building, Employee, Enterprise, Gate, Park
    from parks.services import staff_add

    park = Park.objects.create(code="software-park", name="崂山软件园", name_en="Laoshan Software Park")
    building = Building.objects.create(park=park, code="A", name="A 座")
    Gate.objects.create(park=park, code="A-door", name="A 座大门", kind="building", building=building)
    Gate.objects.create(park=park, code="canteen", name="食堂", kind="canteen", building=building)
    enterprise = Enterprise.objects.create(park=park, name=YUNFAN)
    enterprise.buildings.set([building])
    Employee.objects.create(user=world.users["employee"], enterprise=enterprise, building=building)
    staff_add(park=park, user=world.users["parkop"])
    return park


def _employee(world: World):
    return world.object("Park").enterprises.get(name=YUNFAN).employees.get(user=world.users["employee"])


def _invitation(world: World):
    from parks.visitors import invitation_create

    start = timezone.now()
    return invitation_create(actor=world.users["employee"], park=world.object("Park"), visitor_name="周立",
                             visitor_phone="13912345678", purpose="评审", valid_from=start,
                             valid_until=start + timedelta(hours=2)).invitation


def _passage(world: World):
    """The employee passing the canteen (an online gate's verdict, logged)."""
    from parks.models import Gate, PassageMode
    from parks.services import credential_provision, passage_record

    credential = credential_provision(user=world.users["employee"], park=world.object("Park")).credential
    return passage_record(gate=Gate.objects.get(park=world.object("Park"), code="canteen"), direction="in",
                          at=timezone.now(), passed=True, reason="ok", drift=0, step=next(world.serial),
                          credential=credential, mode=PassageMode.ONLINE)


def _parking_area(world: World):
    """The park's garage: two spaces behind a barrier."""
    from parks.models import Gate, ParkingArea, ParkingSpace

    area = ParkingArea.objects.create(park=world.object("Park"), code="garage", name="地下车库")
    for number in ("001", "002"):
        ParkingSpace.objects.create(area=area, number=number)
    Gate.objects.create(park=area.park, code="garage", name="车库道闸", kind="parking", parking_area=area)
    return area


def _vehicle(world: World):
    from parks.parking import vehicle_register

    return vehicle_register(actor=world.users["employee"], park=world.object("Park"), plate="鲁B12345")


def _barrier_event(world: World, plate: str | None = None, opened: bool | None = None):
    """A car at the garage's barrier, reported by the operator; read by the operator (``plate``) or in the queue."""
    from parks.parking import barrier_event_read, barrier_event_report, barrier_event_resolve

    barrier = world.object("ParkingArea").barriers.get()
    event = barrier_event_report(actor=world.users["parkop"], gate_id=barrier.pk, direction="in",
                                 snapshot=jpeg_bytes())
    event = barrier_event_read(event_id=event.pk, readings=[])  # the reader saw no plate: the operator's queue
    if plate:
        event = barrier_event_resolve(actor=world.users["parkop"], event_id=event.pk, plate=plate, passed=opened)
    return event


def _parking_stay(world: World):
    world.object("BarrierEvent")
    return world.object("ParkingArea").stays.get(plate=world.object("Vehicle").plate)


def _lamp_post(world: World, n: int = 0):
    from parks.lampposts import lamp_post_create

    return lamp_post_create(park=world.object("Park"), code=f"lamp-{n}", name=f"{n} 号灯杆")[0]


def _promo_video(world: World, n: int = 0):
    """A video of the employee's enterprise (a WebM header is all the checks need here), approved, and a slot that
    plays it on every post all day."""
    from datetime import time

    from parks.lampposts import slot_create, video_review, video_submit

    park = world.object("Park")
    video = video_submit(actor=world.users["employee"], enterprise=park.enterprises.get(name=YUNFAN), title=f"宣传片{n}",
                         upload=_webm())
    video = video_review(actor=world.users["parkop"], video_id=video.pk, approve=True)
    slot_create(actor=world.users["parkop"], park=park, name=f"时段{n}", days=[1, 2, 3, 4, 5, 6, 7],
                starts=time(0), ends=time(23, 59), video_ids=[video.pk])
    return video


def _webm() -> bytes:
    """The smallest WebM the container checks take: EBML header (DocType webm), a Segment with Tracks and a
    Cluster."""
    def element(ident: bytes, body: bytes) -> bytes:
        return ident + bytes([0x80 | len(body)]) + body

    header = element(b"\x1a\x45\xdf\xa3", element(b"\x42\x82", b"webm"))
    return header + element(b"\x18\x53\x80\x67", element(b"\x16\x54\xae\x6b", b"") + element(b"\x1f\x43\xb6\x75", b""))


def _board_post(world: World, n: int = 0):
    """A need of another enterprise of the park, answered by the employee's (so both answers and posts show)."""
    from parks.board import post_publish, response_send
    from parks.models import Employee, Enterprise

    park = world.object("Park")
    other = Enterprise.objects.create(park=park, name=f"需求企业{n}")
    author = Employee.objects.create(user=UserFactory(username=f"board-author-{n}"), enterprise=other).user
    post = post_publish(actor=author, enterprise=other, kind="need", category="technology", title=f"寻找软件开发{n}",
                        body="需要小程序和管理系统的软件开发团队")
    response_send(actor=world.users["employee"], post_id=post.pk, enterprise=park.enterprises.get(name=YUNFAN),
                  body=f"云帆可以承接{n}")
    return post


def _campaign(world: World):
    """A campaign with its two case types and an open inspection round."""
    from datetime import date

    from gridapp.campaigns.models import Campaign, CaseType
    from gridapp.campaigns.services import round_open

    campaign = Campaign.objects.create(code="test-campaign", name="测试专项行动", started_on=date(2026, 3, 1))
    CaseType.objects.create(campaign=campaign, code="illegal_structure", name="违法建筑", outcome="demolished")
    CaseType.objects.create(campaign=campaign, code="green_space", name="毁绿占绿", outcome="rectified")
    round_open(actor=None, campaign=campaign)
    return campaign


def _campaign_row(n: int) -> None:
    """Another campaign, with a case type, a place and a round (what the campaigns list shows of each)."""
    from datetime import date

    from gridapp.campaigns.models import Campaign, CampaignPlace, CaseType
    from gridapp.campaigns.services import round_open

    campaign = Campaign.objects.create(code=f"campaign-{n}", name=f"专项行动{n}", started_on=date(2026, 1, 1 + n % 28))
    CaseType.objects.create(campaign=campaign, code="other", name="其他", outcome="rectified")
    CampaignPlace.objects.create(campaign=campaign, name=f"点位{n}", lng=SPOT[0], lat=SPOT[1])
    round_open(actor=None, campaign=campaign)


def _campaign_case(world: World):
    """A case in ``worker``'s grid, listed, its plan agreed (a history of two rows)."""
    from gridapp.campaigns.services import case_act, case_record

    n = next(world.serial)
    case = case_record(actor=None, campaign=world.object("Campaign"), type_code="illegal_structure",
                       lng=SPOT[0] - 0.004 + 0.0008 * (n % 10), lat=SPOT[1] - 0.004 + 0.0008 * (n // 10 % 10),
                       area_m2=20 + n, site=f"第{n}户", responsible_unit="社区", new_case=True).case
    return case_act(actor=world.users["operator"], case_id=case.pk, action="agree_plan")


def _household(world: World):
    """A watched household in ``worker``'s grid, its meter with a day of readings, and a no-use condition raised."""
    from gridapp.sensors.ingest import readings_ingest
    from gridapp.sensors.services import consent_record, household_register, watch_sweep

    n = next(world.serial)
    now = timezone.now()
    household = household_register(
        code=f"hh-{n}", address=f"测试路{n}号", lng=SPOT[0] + 0.0001 * (n % 50), lat=SPOT[1], resident_name=f"老人{n}",
        contact_name="子女", contact_phone="13800000000", emergency_name="邻居", emergency_phone="13800000001",
        meter_serial=f"WM-{n}", meter_installed_at=now - timedelta(days=3))
    consent_record(actor=None, household_id=household.pk, given_by=f"老人{n}", at=now - timedelta(days=3))
    readings_ingest(readings=[(f"WM-{n}", now - timedelta(hours=30 - hour), 100.0) for hour in range(30)],
                    source="gateway")
    watch_sweep(now=now)  # thirty hours without a drop: a welfare incident
    household.refresh_from_db()
    return household


PARK_PEOPLE = frozenset({"admin", "employee", "parkop"})
PARK_OPERATOR = frozenset({"admin", "parkop"})

NODE_CASES: dict[str, NodeCase] = {
    "Park": NodeCase(_park, EVERYONE),
    "Building": NodeCase(lambda w: w.object("Park").buildings.get(code="A"), EVERYONE),
    "Gate": NodeCase(lambda w: w.object("Park").gates.get(code="A-door"), EVERYONE),
    "Enterprise": NodeCase(lambda w: w.object("Park").enterprises.get(name=YUNFAN), EVERYONE),
    "Employee": NodeCase(_employee, PARK_PEOPLE),
    "Invitation": NodeCase(_invitation, PARK_PEOPLE),
    "Passage": NodeCase(_passage, PARK_PEOPLE),
    "ParkingArea": NodeCase(_parking_area, EVERYONE),
    "Vehicle": NodeCase(_vehicle, PARK_PEOPLE),
    "BarrierEvent": NodeCase(lambda w: _barrier_event(w, w.object("Vehicle").plate), PARK_OPERATOR),
    "ParkingStay": NodeCase(_parking_stay, PARK_OPERATOR),
    "LampPost": NodeCase(_lamp_post, EVERYONE),
    "PromoVideo": NodeCase(_promo_video, PARK_PEOPLE),
    "BoardPost": NodeCase(_board_post, PARK_PEOPLE),
    "BoardResponse": NodeCase(lambda w: w.object("BoardPost").responses.get(), PARK_PEOPLE),
    "AuditEntry": NodeCase(lambda w: audit_record(action="case", actor=w.users["operator"]),
                           frozenset({"admin", "auditor"})),
    "BaseRecord": NodeCase(_record, DISTRICT_WIDE | {"worker"}),
    "Camera": NodeCase(_camera, DISTRICT_WIDE | {"worker"}),
    "Application": NodeCase(_application, DISTRICT_WIDE | {"business"}),
    "ApplicationKind": NodeCase(_application_kind, EVERYONE),
    "Certificate": NodeCase(_certificate, DISTRICT_WIDE | {"urban", "business"}),
    "Holder": NodeCase(_school, DISTRICT_WIDE | {"business"}),
    "LicenceKind": NodeCase(_licence_kind, EVERYONE),
    "Community": NodeCase(lambda w: w.district.community, DISTRICT_WIDE | {"urban", "worker", "worker2"}),
    "Department": NodeCase(lambda w: w.users["urban"].department, EVERYONE),
    "Event": NodeCase(_event, DISTRICT_WIDE | {"urban", "worker", "citizen"}),
    "EventCategory": NodeCase(lambda w: EventCategory.objects.get(code="02-05"), EVERYONE),
    "EventPhoto": NodeCase(lambda w: w.object("Event").photos.get(), DISTRICT_WIDE | {"urban", "worker", "citizen"}),
    "Grid": NodeCase(lambda w: w.district.grid, DISTRICT_WIDE | {"urban", "worker"}),
    "GridNotice": NodeCase(lambda w: grid_notice_post(author=w.users["operator"], grid=w.district.grid, title="通知"),
                           DISTRICT_WIDE | {"urban", "worker"}),
    "IndustryGrid": NodeCase(_industry_grid, DISTRICT_WIDE | {"urban", "worker"}),
    "Notification": NodeCase(lambda w: notification_send(recipient=w.users["worker"], title="只给worker"),
                             frozenset({"worker"})),
    "Situation": NodeCase(_situation, DISTRICT_WIDE | {"worker"}),
    "Campaign": NodeCase(_campaign, EVERYONE),
    "CampaignCase": NodeCase(_campaign_case, DISTRICT_WIDE | {"urban", "worker"}),
    "Household": NodeCase(_household, DISTRICT_WIDE | {"worker"}),
    "Street": NodeCase(lambda w: w.district.street, DISTRICT_WIDE | {"urban", "worker", "worker2"}),
    "User": NodeCase(lambda w: w.users["worker"], DISTRICT_WIDE | {"worker"}),
}


def rows_add(world: World, count: int) -> None:
    """``count`` more rows of everything the root lists list, each visible to the list's viewer in
    ``tests/api/query_counts.json``; each grid in a street and community of its own, so a per-row lookup of a
    relation shows in the count."""
    users = world.users
    camera = world.object("Camera")
    flow = camera.rules.get(algorithm=Algorithm.PEOPLE_FLOW)
    department = users["urban"].department
    for _ in range(count):
        n = next(world.serial)
        street = StreetFactory(lng=121 + n * 0.02, lat=37, size=0.01)
        grid = GridFactory(community=CommunityFactory(street=street, lng=121 + n * 0.02, lat=37, size=0.01),
                           lng=121 + n * 0.02, lat=37, size=0.01)
        grid_assign_worker(actor=None, grid=grid, worker=users["worker"])
        _record(world)
        event = _event(world)
        if n % 2:
            event_transition(actor=users["worker"], event_id=event.pk, action="start")
        _situation(world, _camera(world))
        notification_send(recipient=users["worker"], title=f"通知{n}")
        audit_record(action="seed", actor=users["operator"], target=f"row {n}")
        FlowSample.objects.create(rule=flow, interval_start=timezone.now() - timedelta(minutes=5 * n), count=n)
        _certificate(world)
        _application_submitted(world, n)
        licence = LicenceKind.objects.create(
            code=f"test_{n}", name=f"测试证照{n}", name_en=f"Test licence {n}", department=department,
            number_prefix="T", fields=[{"name": "x", "label": "x", "label_en": "x", "type": "text"}])
        ApplicationKind.objects.create(code=f"test_{n}-new", licence_kind=licence, purpose="new", name=f"测试申请{n}",
                                       name_en=f"Test application {n}", workflow_key="urban-standard")
        EventCategory.objects.create(code=f"99-{n:02d}", major_code="99", major_name="测试", major_name_en="Test",
                                     name=f"测试{n}", name_en=f"Test {n}", platform=Platform.CITY_OPERATIONS,
                                     department=department)
        _park_rows(world, n)
        _campaign_case(world)
        _campaign_row(n)
        _household(world)


def _park_rows(world: World, n: int) -> None:
    """A park of its own (with a building, a gate, an enterprise), an employee of the world's park, the employee's
    passage, invitation and credential."""
    from parks.models import Building, Employee, Enterprise, Gate, Park

    park = Park.objects.create(code=f"park-{n}", name=f"园区{n}")
    building = Building.objects.create(park=park, code="A", name="A 座")
    Gate.objects.create(park=park, code="north", name="北门", kind="entrance")
    Enterprise.objects.create(park=park, name=f"企业{n}").buildings.set([building])
    home = world.object("Park")
    Employee.objects.create(user=UserFactory(username=f"park-employee-{n}"), enterprise=home.enterprises.get(name=YUNFAN),
                            building=home.buildings.get(code="A"))
    _passage(world)
    _invitation(world)
    _charge(world, n)
    _parking(world, n)
    _lamp_post(world, n + 1)
    _promo_video(world, n + 1)
    _map_rows(world, n)
    _board_post(world, n + 1)


def _parking(world: World, n: int) -> None:
    """A car park of its own with a space; a car let in at the garage (a stay), and one in the operator's queue."""
    from parks.models import ParkingArea, ParkingSpace, Vehicle
    from parks.plates import PROVINCES

    area = ParkingArea.objects.create(park=world.object("Park"), code=f"lot-{n}", name=f"{n} 号停车场")
    ParkingSpace.objects.create(area=area, number="001")
    vehicle = world.object("Vehicle")  # and another of the employee's (past the app's limit: rows for the list)
    Vehicle.objects.create(park=vehicle.park, employee=vehicle.employee, plate=f"鲁C{n:05d}")
    _barrier_event(world)
    _barrier_event(world, f"{PROVINCES[n % len(PROVINCES)]}B{n:05d}", opened=True)  # an unknown car let in
    ParkingSpace.objects.create(area=world.object("ParkingArea"), number=f"1{n:02d}")  # room for the next


def _map_rows(world: World, n: int) -> None:
    """More of the map's layers in the world's park: a building with an enterprise and its employee, a camera on
    the grounds with an open situation (the lamp posts, car parks, chargers and passages come above)."""
    from parks.models import Building, Employee, Enterprise

    home = world.object("Park")
    building = Building.objects.create(park=home, code=f"M{n}", name=f"{n} 号楼", longitude=121 + n / 100,
                                       latitude=37)
    enterprise = Enterprise.objects.create(park=home, name=f"入驻企业{n}")
    enterprise.buildings.set([building])
    Employee.objects.create(user=UserFactory(username=f"tenant-{n}"), enterprise=enterprise, building=building)
    camera = _camera(world)
    home.cameras.add(camera)
    _situation(world, camera)


def _charge(world: World, n: int) -> None:
    """A completed charge of the employee at a charger of its own."""
    from parks.charging import charger_create, connector_status, transaction_start, transaction_stop

    home = world.object("Park")
    employee = home.enterprises.get(name=YUNFAN).employees.get(user=world.users["employee"])
    employee.card_id = "CARD-EMPLOYEE"
    employee.save(update_fields=["card_id"])
    charger = charger_create(park=home, identity=f"CP-{n}", name=f"{n} 号充电桩", password="secret")
    for number in (0, 1):
        connector_status(charger=charger, number=number, status="Available", error_code="NoError")
    started = transaction_start(charger=charger, connector=1, id_tag="CARD-EMPLOYEE", meter_start=0,
                                at=timezone.now() - timedelta(hours=1))
    transaction_stop(charger=charger, transaction_id=started.transaction_id, meter_stop=5000, at=timezone.now())


# --- the schema ---------------------------------------------------------------------------------------------


def _definition(graphql_type):
    extensions = getattr(graphql_type, "extensions", None) or {}
    return extensions.get("strawberry-definition")


def node_types() -> dict[str, type]:
    """Every object type of the schema that implements ``Node``: its name and its strawberry class."""
    found = {}
    for name, graphql_type in schema._schema.type_map.items():
        if isinstance(graphql_type, GraphQLObjectType) and any(i.name == "Node" for i in graphql_type.interfaces):
            found[name] = _definition(graphql_type).origin
    return found


def payload_types() -> dict[str, GraphQLObjectType]:
    """Each mutation's payload type, by the mutation's name."""
    return {name: get_named_type(field.type) for name, field in schema._schema.mutation_type.fields.items()}


def is_list_or_connection(graphql_type) -> bool:
    """A list, or a relay connection (an object with ``edges``)."""
    inner = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    return isinstance(inner, GraphQLList) or (
        isinstance(inner, GraphQLObjectType) and "edges" in inner.fields and "pageInfo" in inner.fields)


def returns_node(graphql_type) -> bool:
    named = get_named_type(graphql_type)
    return named.name == "Node" or (isinstance(named, GraphQLObjectType)
                                    and any(i.name == "Node" for i in named.interfaces))
