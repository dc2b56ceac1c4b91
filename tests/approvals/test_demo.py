"""The demo's certificates: what `citizen` and `business` see in their wallets after seed_demo."""

from __future__ import annotations

import pytest

from approvals.codes import certificate_verify
from approvals.demo import demo_certificates_create
from approvals.models import CertificateStatus
from approvals.selectors import certificates_held_by
from certkit import Status


@pytest.mark.django_db
def test_citizen_and_business_hold_several_certificates_including_the_seed_case(users, catalogue):
    assert demo_certificates_create() == 7
    assert demo_certificates_create() == 7  # idempotent
    school = certificates_held_by(users["business"])
    assert sorted(c.kind.code for c in school.filter(status=CertificateStatus.VALID)) == [
        "outdoor_advertising", "private_non_enterprise", "private_school", "public_place_hygiene"]
    superseded = school.get(status=CertificateStatus.SUPERSEDED)
    assert certificate_verify(superseded.code).status is Status.SUPERSEDED
    seed_case = school.get(kind__code="private_non_enterprise")
    assert seed_case.holder.name == "青岛海韵培训学校" and certificate_verify(seed_case.code).valid
    assert sorted(c.kind.code for c in certificates_held_by(users["citizen"])) == ["pet_dog", "road_occupation"]


@pytest.mark.django_db
def test_the_demo_has_both_seed_cases_under_way(users, catalogue):
    from accounts.models import Department
    from approvals.application_catalogue import application_catalogue_load
    from approvals.applications import application_preview
    from approvals.demo import demo_applications_create
    from approvals.models import Application, ApplicationKind, LicenceKind, MaterialOutcome, MaterialRequirement
    from core.workflow.models import WorkflowDefinition, WorkflowStep

    application_catalogue_load(licence_kinds=LicenceKind, departments=Department, application_kinds=ApplicationKind,
                               requirements=MaterialRequirement, definitions=WorkflowDefinition, steps=WorkflowStep)
    demo_certificates_create()
    accounts = demo_applications_create(password=lambda username: f"{username}-pw")
    assert {"civil_clerk", "civil_director", "market_clerk", "ip_examiner", "ip_director", "cnipa_registrar",
            "producer"} == {username for username, _name in accounts}
    assert demo_applications_create(password=lambda username: "x") == accounts  # idempotent
    school = Application.objects.get(kind__code="private_non_enterprise-renew")
    assert school.status == "draft"
    _application, results, _digest = application_preview(actor=users["business"], application_id=school.pk)
    assert all(result.outcome in (MaterialOutcome.CERTIFICATE, MaterialOutcome.SOURCE) for result in results)
    mark = Application.objects.get(kind__code="geographical_indication-new")
    assert mark.status == "in_review" and mark.case.step.code == "review"
