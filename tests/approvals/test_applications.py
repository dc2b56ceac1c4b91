"""Certificate-free applications through their services: materials proven with provenance, confirmation by
the legal representative over a digest, the stored workflows, and the certificate an approval issues."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from PIL import Image

from approvals.applications import (
    application_act,
    application_confirm,
    application_create,
    application_preview,
    application_submit,
    application_update,
    material_upload,
)
from approvals.codes import certificate_verify
from approvals.models import (
    ApplicationKind,
    ApplicationStatus,
    CertificateStatus,
    MaterialCheck,
    MaterialOutcome,
)
from approvals.services import authorisation_grant, certificate_revoke, holder_register
from certkit import Status
from core.workflow import WorkflowDenied, WorkflowError
from core.workflow.models import WorkflowStep
from core.workflow.steps import StepSpec, workflow_definition_current, workflow_definition_publish
from tests.approvals.conftest import credit_code, registry, staff
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def renewal(world, actor=None, **fields):
    kind = ApplicationKind.objects.get(code="private_non_enterprise-renew")
    return application_create(actor=actor or world["school"].representative, kind=kind, holder=world["school"],
                              basis=world["certificate"], fields=fields)


def confirmed_and_submitted(application, representative, submitter=None):
    _application, _results, digest = application_preview(actor=representative, application_id=application.pk)
    application_confirm(actor=representative, application_id=application.pk, digest=digest)
    return application_submit(actor=submitter or representative, application_id=application.pk)


def test_the_school_renews_entirely_online_and_the_old_certificate_is_superseded(school_renewal):
    world, representative = school_renewal, school_renewal["school"].representative
    application = renewal(world, funds="80")
    assert application.status == ApplicationStatus.DRAFT and application.fields["funds"] == "80.00"

    _application, results, digest = application_preview(actor=representative, application_id=application.pk)
    assert [(result.requirement.code, result.outcome) for result in results] == [
        ("current_certificate", MaterialOutcome.CERTIFICATE), ("registration_record", MaterialOutcome.SOURCE),
        ("school_permit", MaterialOutcome.SOURCE)]
    assert results[0].provenance["number"] == world["certificate"].number
    assert results[0].provenance["status"] == "valid"
    assert results[2].reasons == ("没有此类证照的记录",)  # no school permit on record; the school records proved it

    application_confirm(actor=representative, application_id=application.pk, digest=digest)
    application = application_submit(actor=representative, application_id=application.pk)
    assert application.status == ApplicationStatus.IN_REVIEW and application.case.step.code == "accept"
    checks = {check.material: check for check in MaterialCheck.objects.filter(application=application)}
    assert checks["registration_record"].provenance["recordId"] == "52370202MJ1234567X-2019"
    assert checks["registration_record"].provenance["source"] == "social_org_registry"
    assert checks["current_certificate"].provenance["status"] == "valid"

    application = application_act(actor=world["clerk"], application_id=application.pk, action="approve")
    assert application.status == ApplicationStatus.IN_REVIEW and application.case.step.code == "approve"
    application = application_act(actor=world["director"], application_id=application.pk, action="approve",
                                  note="准予延续")
    assert application.status == ApplicationStatus.APPROVED and application.decided_at is not None
    renewed = application.issued
    assert renewed.status == CertificateStatus.VALID and renewed.supersedes_id == world["certificate"].pk
    assert renewed.fields["funds"] == "80.00"
    assert certificate_verify(renewed.code).status is Status.VALID
    assert certificate_verify(world["certificate"].code).status is Status.SUPERSEDED


def test_the_geographical_indication_is_in_force_only_after_the_national_office_files(application_catalogue, users):
    producer_rep = UserFactory(username="producer")
    producer = holder_register(kind="organisation", number=credit_code("91370282MA3C12345"), name="崂山茶业合作社",
                               representative=producer_rep)
    registry("enterprise_registry", "business_licence", producer, "91370282MA3C12345", name="崂山茶业合作社")
    registry("enterprise_registry", "production_site", producer, "LS-TEA-017", area="崂山区北宅街道")
    steps = {"market": staff("market_clerk", "market", "clerk"),
             "examiner": staff("ip_examiner", "province_ip", "examiner"),
             "announcer": staff("ip_director", "province_ip", "director"),
             "registrar": staff("cnipa_registrar", "cnipa", "registrar")}
    kind = ApplicationKind.objects.get(code="geographical_indication-new")
    application = application_create(actor=producer_rep, kind=kind, holder=producer,
                                     fields={"product": "崂山绿茶", "indication": "崂山绿茶"})
    _application, results, _digest = application_preview(actor=producer_rep, application_id=application.pk)
    assert [result.outcome for result in results] == [MaterialOutcome.SOURCE, MaterialOutcome.SOURCE,
                                                      MaterialOutcome.MISSING]
    with pytest.raises(WorkflowError) as refused:
        confirmed_and_submitted(application, producer_rep)
    assert refused.value.code == "missing_materials" and "产品质量检验报告" in refused.value.messages[0]

    material_upload(actor=producer_rep, application_id=application.pk, material="quality_report", upload=_pdf(),
                    filename="检验报告.pdf")
    application = confirmed_and_submitted(application, producer_rep)
    assert application.case.step.code == "accept"
    with pytest.raises(WorkflowDenied):  # not their step yet
        application_act(actor=steps["registrar"], application_id=application.pk, action="approve")
    for holder, step in (("market", "review"), ("examiner", "announce")):
        application = application_act(actor=steps[holder], application_id=application.pk, action="approve")
        assert application.case.step.code == step and application.issued is None
    application = application_act(actor=steps["announcer"], application_id=application.pk, action="approve",
                                  note="公告期满无异议")
    authorisation = application.issued
    assert application.case.step.code == "file" and authorisation.status == CertificateStatus.PENDING
    pending = certificate_verify(authorisation.code)
    assert (pending.status, pending.reason) == (Status.SUSPENDED, "not_in_force")

    application = application_act(actor=steps["registrar"], application_id=application.pk, action="approve")
    assert application.status == ApplicationStatus.APPROVED
    authorisation.refresh_from_db()
    assert authorisation.status == CertificateStatus.VALID
    assert certificate_verify(authorisation.code).status is Status.VALID


def test_a_revoked_proof_turns_back_into_an_upload_request(school_renewal):
    world, representative = school_renewal, school_renewal["school"].representative
    application = renewal(world)
    certificate_revoke(actor=world["staff"], certificate_id=world["certificate"].pk, reason="违规办学")
    _application, results, _digest = application_preview(actor=representative, application_id=application.pk)
    current = results[0]
    assert current.outcome == MaterialOutcome.MISSING and world["certificate"].number in current.reasons[0]
    with pytest.raises(WorkflowError) as refused:
        confirmed_and_submitted(application, representative)
    assert refused.value.code == "missing_materials"


def test_a_source_that_fails_degrades_to_an_upload_request_with_the_reason(school_renewal, settings):
    settings.APPROVAL_SOURCES = {**settings.APPROVAL_SOURCES,
                                 "school_records": {"adapter": "tests.approvals.test_applications.Hanging",
                                                    "timeout": 0.3}}
    from approvals.sources import source_get

    source_get.cache_clear()
    try:
        application = renewal(school_renewal)
        started = timezone.now()
        _application, results, _digest = application_preview(actor=school_renewal["school"].representative,
                                                             application_id=application.pk)
        assert timezone.now() - started < timedelta(seconds=3)
        school = results[2]
        assert school.outcome == MaterialOutcome.MISSING
        assert school.reasons == ("没有此类证照的记录", "教育局学校档案：数据源未及时响应")  # then the source was too slow
    finally:
        source_get.cache_clear()


class Hanging:
    """A registry that never answers in time."""

    remote = True

    def __init__(self, code, **options):
        self.code = code

    def find(self, holder, record):
        import time

        time.sleep(5)


def test_only_the_representative_confirms_and_any_change_voids_the_confirmation(school_renewal):
    world, representative = school_renewal, school_renewal["school"].representative
    agent = UserFactory(username="agent")
    authorisation_grant(organisation=world["school"], agent=agent, valid_until=timezone.now() + timedelta(days=30),
                        kinds=["private_non_enterprise"], granted_by=representative)
    application = renewal(world, actor=agent)  # an agent within the authorisation drafts
    _application, _results, digest = application_preview(actor=agent, application_id=application.pk)
    with pytest.raises(PermissionDenied):
        application_confirm(actor=agent, application_id=application.pk, digest=digest)
    application_confirm(actor=representative, application_id=application.pk, digest=digest)
    application_update(actor=agent, application_id=application.pk, fields={"funds": "90"})
    with pytest.raises(WorkflowError) as refused:
        application_submit(actor=agent, application_id=application.pk)
    assert refused.value.code == "not_confirmed"
    with pytest.raises(WorkflowError) as stale:
        application_confirm(actor=representative, application_id=application.pk, digest=digest)
    assert stale.value.code == "digest_mismatch"
    _application, _results, digest = application_preview(actor=agent, application_id=application.pk)
    application_confirm(actor=representative, application_id=application.pk, digest=digest)
    assert application_submit(actor=agent, application_id=application.pk).status == ApplicationStatus.IN_REVIEW


def test_an_agent_beyond_the_authorisation_is_refused(school_renewal):
    world = school_renewal
    agent = UserFactory(username="agent")
    authorisation_grant(organisation=world["school"], agent=agent, valid_until=timezone.now() + timedelta(days=30),
                        kinds=["social_group"], granted_by=world["school"].representative)
    with pytest.raises(PermissionDenied):
        renewal(world, actor=agent)
    expired = UserFactory(username="expired_agent")
    authorisation_grant(organisation=world["school"], agent=expired, valid_from=timezone.now() - timedelta(days=60),
                        valid_until=timezone.now() - timedelta(days=1), granted_by=world["school"].representative)
    with pytest.raises(PermissionDenied):
        renewal(world, actor=expired)


def test_return_for_correction_then_resubmit_keeps_the_history(school_renewal):
    world, representative = school_renewal, school_renewal["school"].representative
    application = confirmed_and_submitted(renewal(world), representative)
    with pytest.raises(WorkflowError) as no_reason:
        application_act(actor=world["clerk"], application_id=application.pk, action="return")
    assert no_reason.value.code == "required"
    application = application_act(actor=world["clerk"], application_id=application.pk, action="return",
                                  note="开办资金与审计报告不符")
    assert application.status == ApplicationStatus.RETURNED
    application_update(actor=representative, application_id=application.pk, fields={"funds": "60"})
    application = confirmed_and_submitted(application, representative)
    assert application.status == ApplicationStatus.IN_REVIEW and application.submissions == 2
    assert MaterialCheck.objects.filter(application=application).count() == 6  # two rounds of three
    actions = list(application.case.history.values_list("action", flat=True))
    assert actions == ["submit", "return", "resubmit"]


def test_two_staff_acting_on_one_step_at_once_one_wins(school_renewal):
    world, representative = school_renewal, school_renewal["school"].representative
    application = confirmed_and_submitted(renewal(world), representative)
    other_clerk = staff("civil_clerk2", "civil", "clerk")
    version = application.version
    application_act(actor=world["clerk"], application_id=application.pk, action="approve", expected_version=version)
    with pytest.raises(WorkflowError) as late:
        application_act(actor=other_clerk, application_id=application.pk, action="reject", note="x",
                        expected_version=version)
    assert late.value.code == "stale"
    with pytest.raises(WorkflowDenied):  # without a version: the step moved on to the director's
        application_act(actor=other_clerk, application_id=application.pk, action="reject", note="x")


def test_a_running_application_finishes_on_the_workflow_it_started_with(school_renewal):
    world, representative = school_renewal, school_renewal["school"].representative
    running = confirmed_and_submitted(renewal(world), representative)
    old = workflow_definition_current(key="civil-standard")
    workflow_definition_publish(key="civil-standard", title=old.title, steps=[
        StepSpec(step.code, step.name, step.level, step.organisation, step.role, step.deadline_hours)
        for step in old.steps.order_by("position")] + [StepSpec("inspect", "现场核查", "district", "civil",
                                                                 "inspector", 72)])
    assert running.case.definition_id == old.pk
    for actor in (world["clerk"], world["director"]):
        running = application_act(actor=actor, application_id=running.pk, action="approve")
    assert running.status == ApplicationStatus.APPROVED  # two steps, as when it started
    assert WorkflowStep.objects.filter(definition=workflow_definition_current(key="civil-standard")).count() == 3


def _pdf() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 90, 160)).save(buffer, "PDF")
    buffer.seek(0)
    return buffer


def test_a_proof_revoked_during_review_is_told_to_the_step_holder(school_renewal):
    from core.models import Change, Notification

    world, representative = school_renewal, school_renewal["school"].representative
    application = confirmed_and_submitted(renewal(world), representative)
    certificate_revoke(actor=world["staff"], certificate_id=world["certificate"].pk, reason="违规办学")
    change = Change.objects.filter(object_type="approvals.application", kind="application.proof_changed").get()
    assert change.object_id == application.pk and change.facts["certificate"] == world["certificate"].number
    told = Notification.objects.filter(recipient=world["clerk"])
    assert told.count() >= 1 and any(world["certificate"].number in n.body for n in told)
    assert not Notification.objects.filter(recipient=world["director"], body__contains=world["certificate"].number)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.IN_REVIEW  # the clerk decides what follows


def _producer():
    producer_rep = UserFactory(username="producer")
    producer = holder_register(kind="organisation", number=credit_code("91370282MA3C12345"), name="崂山茶业合作社",
                               representative=producer_rep)
    registry("enterprise_registry", "business_licence", producer, "91370282MA3C12345", name="崂山茶业合作社")
    registry("enterprise_registry", "production_site", producer, "LS-TEA-017", area="崂山区北宅街道")
    return producer_rep, producer


def test_the_statistics_show_the_no_proof_rate_per_kind_and_processing_times(school_renewal, gql, token_for):
    world, representative = school_renewal, school_renewal["school"].representative
    renewed = confirmed_and_submitted(renewal(world), representative)
    for actor in (world["clerk"], world["director"]):
        renewed = application_act(actor=actor, application_id=renewed.pk, action="approve")
    producer_rep, producer = _producer()
    gi = application_create(actor=producer_rep, kind=ApplicationKind.objects.get(code="geographical_indication-new"),
                            holder=producer, fields={"product": "崂山绿茶", "indication": "崂山绿茶"})
    material_upload(actor=producer_rep, application_id=gi.pk, material="quality_report", upload=_pdf())
    confirmed_and_submitted(gi, producer_rep)

    from approvals.models import Application
    from approvals.statistics import application_statistics

    rows, totals = application_statistics(Application.objects.all())
    by_kind = {row.kind: row for row in rows}
    school = by_kind["private_non_enterprise-renew"]
    assert (school.submitted, school.approved, school.open, school.materials, school.automatic) == (1, 1, 0, 3, 3)
    assert school.no_proof_rate == 1.0 and school.median_hours is not None and school.median_hours >= 0
    mark = by_kind["geographical_indication-new"]
    assert (mark.submitted, mark.open, mark.materials, mark.automatic) == (1, 1, 3, 2)
    assert mark.median_hours is None  # not decided yet
    assert (totals.submitted, totals.materials, totals.automatic) == (2, 6, 5)

    # the same over GraphQL for the district-wide view, and as a spreadsheet
    auditor = UserFactory(username="stats_auditor", role="auditor")
    answer = gql("""{ applicationStatistics(period: "month") { rows { kind period submitted noProofRate }
      totals { submitted noProofRate } csvUrl } }""", token=token_for(auditor)).data["applicationStatistics"]
    assert {row["kind"]: row["noProofRate"] for row in answer["rows"]} == {
        "geographical_indication-new": pytest.approx(2 / 3), "private_non_enterprise-renew": 1.0}
    assert answer["totals"] == {"submitted": 2, "noProofRate": pytest.approx(5 / 6)}
    from django.test import Client

    csv = Client().get("/exports/application-statistics.csv?period=month",
                       HTTP_AUTHORIZATION=f"Bearer {token_for(auditor)}")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert csv.status_code == 200 and len(lines) == 4 and lines[-1].startswith("合计")
    assert "100.0%" in lines[2] or "100.0%" in lines[1]
    xlsx = Client().get("/exports/application-statistics.xlsx", HTTP_AUTHORIZATION=f"Bearer {token_for(auditor)}")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # a citizen who applied for nothing sees no figures
    citizen = gql("{ applicationStatistics { totals { submitted } } }", token=token_for(world["person"].user))
    assert citizen.data["applicationStatistics"]["totals"]["submitted"] == 0


def test_asked_for_more_materials_the_applicant_supplies_them_and_the_same_step_looks_again(school_renewal):
    world, representative = school_renewal, school_renewal["school"].representative
    application = confirmed_and_submitted(renewal(world), representative)
    with pytest.raises(WorkflowError) as unnamed:
        application_act(actor=world["clerk"], application_id=application.pk, action="request_materials",
                        note="请补充", materials=[""])
    assert unnamed.value.code == "invalid_materials"
    application = application_act(actor=world["clerk"], application_id=application.pk, action="request_materials",
                                  note="请补充2025年度财务审计报告", materials=["2025年度财务审计报告"])
    assert application.status == ApplicationStatus.MATERIALS_REQUESTED
    assert application.case.data["requested_materials"] == ["2025年度财务审计报告"]
    with pytest.raises(ValidationError) as extra:  # no such material on this kind
        material_upload(actor=representative, application_id=application.pk, material="audit_report", upload=_pdf())
    assert extra.value.error_dict["material"][0].code == "unknown_material"
    with pytest.raises(ValidationError) as fake:  # a text file calling itself a PDF
        material_upload(actor=representative, application_id=application.pk, material="registration_record",
                        upload=io.BytesIO(b"%PDF-1.7 this is not really a PDF at all"))
    assert fake.value.code in {"pdf_damaged", "not_a_pdf", "unsupported_type"}
    application = confirmed_and_submitted(application, representative)
    assert application.status == ApplicationStatus.IN_REVIEW and application.case.step.code == "accept"
    assert list(application.case.history.values_list("action", flat=True)) == [
        "submit", "request_materials", "supply_materials"]


def test_a_registry_behind_http_answers_or_degrades_within_its_timeout(school_renewal, settings):
    import threading
    import time as clock
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from approvals.sources import SourceUnavailable, source_find, source_get

    asked = []

    class Registry(BaseHTTPRequestHandler):
        def do_POST(self):
            asked.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            if self.path.startswith("/slow/"):
                clock.sleep(2)
            body = {"/school": b'{"recordId": "JY-1", "data": {"permit": "ok"}}', "/garbled": b"<html>"}.get(
                self.path.replace("/slow", ""))
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.APPROVAL_SOURCES = {
        "fast": {"adapter": "approvals.sources.HttpSource", "url": url, "timeout": 1},
        "slow": {"adapter": "approvals.sources.HttpSource", "url": f"{url}/slow", "timeout": 0.3},
        "down": {"adapter": "approvals.sources.HttpSource", "url": "http://127.0.0.1:9", "timeout": 1}}
    source_get.cache_clear()
    school = school_renewal["school"]
    try:
        found = source_find("fast", school, "school")
        assert (found.record_id, found.data) == ("JY-1", {"permit": "ok"})
        assert asked[0] == ("/school", {"id": credit_code()})  # the number in the body, not in the URL
        assert source_find("fast", school, "nothing") is None
        for code, record, reason in (("fast", "garbled", "bad_answer"), ("slow", "school", "timeout"),
                                     ("down", "school", "unreachable"), ("unconfigured", "school", "unknown")):
            started = clock.monotonic()
            with pytest.raises(SourceUnavailable) as failed:
                source_find(code, school, record)
            assert failed.value.reason == reason and clock.monotonic() - started < 1.5, code
    finally:
        source_get.cache_clear()
        server.shutdown()


def test_the_applicant_withdraws_and_nobody_else_can(school_renewal):
    world, representative = school_renewal, school_renewal["school"].representative
    application = confirmed_and_submitted(renewal(world), representative)
    with pytest.raises(WorkflowDenied):
        application_act(actor=world["clerk"], application_id=application.pk, action="withdraw")
    with pytest.raises(WorkflowError) as unknown:
        application_act(actor=representative, application_id=application.pk, action="resubmit")
    assert unknown.value.code == "unknown_action"  # resubmitting goes through application_submit
    application = application_act(actor=representative, application_id=application.pk, action="withdraw",
                                  note="改为下季度申请")
    assert application.status == ApplicationStatus.WITHDRAWN and application.decided_at is not None
    assert renewal(world).status == ApplicationStatus.DRAFT  # a withdrawn one no longer blocks a new one
