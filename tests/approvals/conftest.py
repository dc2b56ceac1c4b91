from __future__ import annotations

import pytest

from accounts.models import Department, Role
from approvals.identity import credit_code_check, resident_id_check
from approvals.models import LicenceKind
from approvals.services import holder_register
from tests.factories import UserFactory


def resident_id(first17: str = "37020219850312123") -> str:
    return first17 + resident_id_check(first17)


def credit_code(first17: str = "52370202MJ1234567") -> str:
    return first17 + credit_code_check(first17)


SCHOOL_FIELDS = {"scope": "非学历文化教育培训", "address": "青岛市市南区香港中路 10 号", "legal_representative": "王海",
                 "funds": "50", "competent_authority": "市南区教育和体育局"}


@pytest.fixture
def catalogue(db):
    """The catalogue a migration loads (loaded again: a transactional test's flush empties the tables)."""
    from approvals.catalogue import catalogue_load

    catalogue_load(LicenceKind, Department)


@pytest.fixture
def approvals(users, catalogue):
    """The civil-affairs bureau's staff, the business's school (represented by `business`), the citizen as a
    person holder, and the licence kind of the first seed case."""
    civil = Department.objects.get(code="civil")
    staff = UserFactory(username="civil", role=Role.DEPARTMENT_STAFF, department=civil)
    school = holder_register(kind="organisation", number=credit_code(), name="青岛海韵培训学校",
                             representative=users["business"])
    person = holder_register(kind="person", number=resident_id(), name="刘洋", user=users["citizen"])
    return {"staff": staff, "school": school, "person": person,
            "kind": LicenceKind.objects.get(code="private_non_enterprise"), "civil": civil}


@pytest.fixture
def school_certificate(approvals):
    from approvals.services import certificate_issue

    return certificate_issue(kind=approvals["kind"], holder=approvals["school"], fields=SCHOOL_FIELDS,
                             actor=approvals["staff"])


@pytest.fixture
def application_catalogue(catalogue):
    """The application kinds, their materials and workflows a migration loads (loaded again after a
    transactional test's flush)."""
    from approvals.application_catalogue import application_catalogue_load
    from approvals.models import ApplicationKind, MaterialRequirement
    from core.workflow.models import WorkflowDefinition, WorkflowStep

    application_catalogue_load(licence_kinds=LicenceKind, departments=Department, application_kinds=ApplicationKind,
                               requirements=MaterialRequirement, definitions=WorkflowDefinition, steps=WorkflowStep)


def staff(username: str, department: str, *roles: str):
    from approvals.models import StaffDuty

    user = UserFactory(username=username, role=Role.DEPARTMENT_STAFF, department=Department.objects.get(code=department))
    for role in roles:
        StaffDuty.objects.create(user=user, role=role)
    return user


def registry(source: str, record: str, holder, record_id: str, **data):
    from django.utils import timezone

    from approvals.models import RegistryRecord

    return RegistryRecord.objects.create(source=source, record=record, subject_digest=holder.id_digest,
                                         record_id=record_id, data=data, updated_at=timezone.now())


@pytest.fixture
def school_renewal(approvals, school_certificate, application_catalogue):
    """The first seed case's world: the school's current certificate and its registry records, the
    civil-affairs clerk and director."""
    registry("social_org_registry", "registration", approvals["school"], "52370202MJ1234567X-2019",
             name="青岛海韵培训学校", status="正常")
    registry("school_records", "school", approvals["school"], "JY-370202-0815", permit="教民137020270001号")
    return {**approvals, "certificate": school_certificate, "clerk": staff("civil_clerk", "civil", "clerk"),
            "director": staff("civil_director", "civil", "director")}
