"""The demo's two parks: the software park (软件园) and the animation park (动漫园), with buildings, canteens,
gates, enterprises and their employees; `employee` (陈静) works in the software park's building A, `parkop` runs
both parks, `gate_sp` is the software park's online gate controller.  Only seed_demo imports this."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model

from accounts.models import Role
from parks.charging import charger_create
from parks.lampposts import lamp_post_create
from parks.models import (
    Building,
    Charger,
    Employee,
    Enterprise,
    Floor,
    Gate,
    LampPost,
    Park,
    ParkingArea,
    ParkingSpace,
    SpaceKind,
    StaffRole,
    Vehicle,
)
from parks.parking import vehicle_register
from parks.services import staff_add

WORKDAYS = [{"days": [1, 2, 3, 4, 5], "from": "07:00", "to": "22:00"}]
MEALS = [{"days": [1, 2, 3, 4, 5, 6, 7], "from": "06:30", "to": "20:30"}]

PARKS = [
    {"code": "software-park", "name": "崂山软件园", "name_en": "Laoshan Software Park",
     "buildings": [("A", "A 座 研发楼", "Building A (R&D)", 12, (120.4681, 36.1071)),
                   ("B", "B 座 孵化楼", "Building B (incubator)", 8, (120.4692, 36.1075)),
                   ("C", "C 座 综合楼", "Building C (services)", 4, (120.4701, 36.1068))],
     "gates": [("north", "北门", "North gate", "entrance", None, []),
               ("south", "南门", "South gate", "entrance", None, []),
               ("A-door", "A 座大门", "Building A door", "building", "A", WORKDAYS),
               ("B-door", "B 座大门", "Building B door", "building", "B", WORKDAYS),
               ("C-door", "C 座大门", "Building C door", "building", "C", []),
               ("canteen", "C 座 一楼食堂", "Canteen (C, ground floor)", "canteen", "C", MEALS),
               ("garage", "地下车库道闸", "Garage barrier", "parking", None, [])],
     # car parks: (code, name, English name, building, spaces (of which with a charger), (lon, lat)); a parking
     # barrier's car park is the one of its code
     "parking": [("garage", "A 座地下车库", "Building A underground garage", "A", 120, 10, (120.4683, 36.1070))],
     "lamp_posts": [("sp-lamp-1", "北门 1 号灯杆", (120.4676, 36.1080)), ("sp-lamp-2", "A 座前 2 号灯杆", (120.4684, 36.1074)),
                    ("sp-lamp-3", "B 座前 3 号灯杆", (120.4694, 36.1078)), ("sp-lamp-4", "南门 4 号灯杆", (120.4700, 36.1062))],
     "enterprises": [("青岛云帆信息技术有限公司", "Qingdao Yunfan IT Co., Ltd.", ["A"], 24),
                     ("青岛海数智能科技有限公司", "Qingdao Haishu Intelligence Co., Ltd.", ["A", "B"], 18),
                     ("青岛启明软件有限公司", "Qingdao Qiming Software Co., Ltd.", ["B"], 12)]},
    {"code": "animation-park", "name": "国际动漫游戏产业园", "name_en": "International Animation & Games Park",
     "buildings": [("M1", "1 号楼 制作中心", "Building 1 (studios)", 6, (120.4102, 36.0853)),
                   ("M2", "2 号楼 创意楼", "Building 2 (creative)", 5, (120.4110, 36.0858))],
     "gates": [("main", "正门", "Main gate", "entrance", None, []),
               ("M1-door", "1 号楼大门", "Building 1 door", "building", "M1", WORKDAYS),
               ("M2-door", "2 号楼大门", "Building 2 door", "building", "M2", WORKDAYS),
               ("canteen", "2 号楼 员工餐厅", "Staff canteen (building 2)", "canteen", "M2", MEALS),
               ("lot", "地面停车场道闸", "Car park barrier", "parking", None, [])],
     "parking": [("lot", "地面停车场", "Surface car park", None, 60, 4, (120.4106, 36.0850))],
     "lamp_posts": [("ap-lamp-1", "正门 1 号灯杆", (120.4099, 36.0849)), ("ap-lamp-2", "2 号楼前灯杆", (120.4111, 36.0860))],
     "enterprises": [("青岛光影动画有限公司", "Qingdao Guangying Animation Co., Ltd.", ["M1"], 16),
                     ("青岛像素游戏有限公司", "Qingdao Pixel Games Co., Ltd.", ["M1", "M2"], 14)]},
]
DEMO_PLATE = "苏B76933"
DEMO_CHARGERS = [("CP-SP-A1", "A 座 1 号充电桩"), ("CP-SP-A2", "A 座 2 号充电桩")]
#: Demo accounts of the parks, printed by seed_demo with their passwords.
PARK_ACCOUNTS = [("gate_sp", "软件园 在线闸机控制器", "Software park online gate controller")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英"]


def demo_parks_create(*, password) -> list[tuple[str, str]]:
    """Create the two parks once (again: brought in line, nothing doubled); returns the parks' demo accounts
    ``(username, description)`` whose password is ``password(username)``."""
    users = get_user_model().objects
    operator, employee = users.filter(username="parkop").first(), users.filter(username="employee").first()
    counter = 0
    for spec in PARKS:
        park, _ = Park.objects.update_or_create(code=spec["code"], defaults={"name": spec["name"],
                                                                            "name_en": spec["name_en"]})
        buildings = {}
        for code, name, name_en, floors, (lon, lat) in spec["buildings"]:
            buildings[code], _ = Building.objects.update_or_create(
                park=park, code=code, defaults={"name": name, "name_en": name_en, "longitude": lon, "latitude": lat})
            for number in range(1, floors + 1):
                Floor.objects.get_or_create(building=buildings[code], number=number)
        areas = {}
        for code, name, name_en, building, spaces, charging, (lon, lat) in spec["parking"]:
            areas[code], _ = ParkingArea.objects.update_or_create(park=park, code=code, defaults={
                "name": name, "name_en": name_en, "building": buildings[building] if building else None,
                "longitude": lon, "latitude": lat})
            for number in range(1, spaces + 1):
                ParkingSpace.objects.get_or_create(area=areas[code], number=f"{number:03d}", defaults={
                    "kind": SpaceKind.CHARGING if number > spaces - charging else SpaceKind.STANDARD})
        for code, name, (lon, lat) in spec["lamp_posts"]:
            if not LampPost.objects.filter(code=code).exists():
                lamp_post_create(park=park, code=code, name=name, longitude=lon, latitude=lat)
        for code, name, name_en, kind, building, windows in spec["gates"]:
            Gate.objects.update_or_create(park=park, code=code, defaults={
                "name": name, "name_en": name_en, "kind": kind, "windows": windows,
                "building": buildings[building] if building else None, "parking_area": areas.get(code)})
        for index, (name, name_en, premises, headcount) in enumerate(spec["enterprises"]):
            enterprise, _ = Enterprise.objects.update_or_create(park=park, name=name, defaults={"name_en": name_en})
            enterprise.buildings.set([buildings[code] for code in premises])
            for number in range(headcount):
                counter += 1
                username = f"{spec['code'][:2]}{index + 1}e{number + 1:02d}"
                person = users.filter(username=username).first()
                if person is None:
                    person = users.create(username=username, role=Role.PARK_EMPLOYEE, phone=f"1390000{counter:04d}",
                                          display_name=SURNAMES[counter % len(SURNAMES)] + GIVEN[counter % len(GIVEN)])
                    person.set_unusable_password()
                    person.save(update_fields=["password"])
                Employee.objects.get_or_create(user=person, enterprise=enterprise,
                                               defaults={"building": buildings[premises[0]]})
        if operator is not None:
            staff_add(park=park, user=operator)
    software = Park.objects.get(code="software-park")
    if employee is not None:
        Employee.objects.get_or_create(user=employee, enterprise=software.enterprises.order_by("id").first(),
                                       defaults={"building": software.buildings.get(code="A")})
        # 陈静's car: the plate of a real snapshot in tests/parks/plates, to try the barrier with
        if not Vehicle.objects.filter(park=software, plate=DEMO_PLATE).exists():
            vehicle_register(actor=employee, park=software, plate=DEMO_PLATE)
    accounts = []
    for username, display_name, _description in PARK_ACCOUNTS:
        gate_user = users.filter(username=username).first() or users.model(username=username)
        gate_user.role, gate_user.display_name = Role.PARK_OPERATOR, display_name
        gate_user.set_password(password(username))
        gate_user.save()
        staff_add(park=software, user=gate_user, role=StaffRole.GATE)
        accounts.append((username, display_name))
    # Two chargers by building A: a charge point simulator connects to /ocpp/CP-SP-A1 with the password made like
    # the accounts' (README: EV charging)
    for identity, name in DEMO_CHARGERS:
        if not Charger.objects.filter(identity=identity).exists():
            charger_create(park=software, identity=identity, name=name, password=password(identity),
                           tariff_per_kwh=Decimal("1.20"), building=software.buildings.get(code="A"))
    return accounts
