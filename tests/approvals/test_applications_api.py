"""Applications over GraphQL and websockets, as the applicant's app and the step holders' screens use them."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from strawberry.relay import to_base64

from tests.api.test_websocket import issue, open_socket

CREATE = """mutation($input: ApplicationCreateInput!) { createApplication(input: $input) {
  errors { code field message } application { id number status version } } }"""
PREVIEW = """query($id: ID!) { applicationPreview(applicationId: $id) { digest confirmed
  materials { code outcome automatic provenance reasons } } }"""
CONFIRM = """mutation($input: ApplicationConfirmInput!) { confirmApplication(input: $input) {
  errors { code } application { status } } }"""
SUBMIT = """mutation($input: ApplicationSubmitInput!) { submitApplication(input: $input) {
  errors { code message } application { status submissions step { code name deadline overdue }
  checks { material outcome provenance } } } }"""
ACT = """mutation($input: ApplicationActInput!) { actOnApplications(input: $input) { errors { code } refused
  applications { status step { code } issued { number status } basis { number status } } } }"""
QUEUE = """{ applicationQueue { edges { node { number step { code } } } } }"""
MINE = """{ myApplications { edges { node { number status history { action step } } } } }"""
LISTEN = """subscription { applicationChanged { kind status step application { number status } } }"""


async def _hear(socket, kinds: set[str], timeout: float = 10, status: str | None = None,
                step: str | None = None) -> list[dict]:
    """The applicationChanged messages until each of ``kinds`` was heard (the last with ``status``, or taken at
    ``step``)."""
    heard = []
    while (kinds - {message["kind"] for message in heard} or (status and heard[-1]["status"] != status)
           or (step and heard[-1]["step"] != step)):
        heard.append((await socket.next(timeout=timeout))["payload"]["data"]["applicationChanged"])
    return heard


@pytest.mark.django_db(transaction=True)
async def test_the_school_renews_through_the_api_and_everyone_on_the_way_hears_it(school_renewal, gql):
    world = school_renewal
    representative = world["school"].representative
    tokens = {name: await database_sync_to_async(issue)(user) for name, user in
              (("applicant", representative), ("clerk", world["clerk"]), ("director", world["director"]))}
    sockets = {}
    for name, token in tokens.items():
        _ok, sockets[name] = await open_socket(token)
        await sockets[name].subscribe("a", LISTEN, {})
    await asyncio.sleep(0.5)

    def call(query, variables=None, who="applicant"):
        answer = gql(query, variables or {}, token=tokens[who])
        assert answer.data is not None and not answer.errors, answer.body
        return answer.data

    created = (await database_sync_to_async(call)(CREATE, {"input": {
        "kind": "private_non_enterprise-renew", "holderId": to_base64("Holder", world["school"].pk),
        "certificateId": to_base64("Certificate", world["certificate"].pk), "fields": {"funds": "80"}}}))
    assert created["createApplication"]["errors"] == []
    application = created["createApplication"]["application"]
    assert application["status"] == "DRAFT"

    preview = (await database_sync_to_async(call)(PREVIEW, {"id": application["id"]}))["applicationPreview"]
    assert [(m["code"], m["outcome"], m["automatic"]) for m in preview["materials"]] == [
        ("current_certificate", "CERTIFICATE", True), ("registration_record", "SOURCE", True),
        ("school_permit", "SOURCE", True)]
    assert preview["confirmed"] is False
    for who in ("clerk",):  # staff cannot preview or confirm an application that is not theirs to make
        assert (await database_sync_to_async(call)(PREVIEW, {"id": application["id"]}, who))[
            "applicationPreview"] is None
    wrong = await database_sync_to_async(call)(CONFIRM, {"input": {"applicationId": application["id"],
                                                                    "digest": "0" * 64}})
    assert wrong["confirmApplication"]["errors"] == [{"code": "digest_mismatch"}]
    confirmed = await database_sync_to_async(call)(CONFIRM, {"input": {"applicationId": application["id"],
                                                                        "digest": preview["digest"]}})
    assert confirmed["confirmApplication"]["errors"] == []

    submitted = (await database_sync_to_async(call)(SUBMIT, {"input": {"applicationId": application["id"]}}))[
        "submitApplication"]
    assert submitted["errors"] == [] and submitted["application"]["status"] == "IN_REVIEW"
    assert submitted["application"]["step"]["code"] == "accept" and not submitted["application"]["step"]["overdue"]
    assert {check["material"]: check["outcome"] for check in submitted["application"]["checks"]} == {
        "current_certificate": "CERTIFICATE", "registration_record": "SOURCE", "school_permit": "SOURCE"}
    for name in ("applicant", "clerk"):
        assert any(m["kind"] == "application.submit" and m["status"] == "IN_REVIEW"
                   for m in await _hear(sockets[name], {"application.submit"})), name

    queue = (await database_sync_to_async(call)(QUEUE, who="clerk"))["applicationQueue"]["edges"]
    assert [edge["node"] for edge in queue] == [{"number": application["number"], "step": {"code": "accept"}}]
    assert (await database_sync_to_async(call)(QUEUE, who="director"))["applicationQueue"]["edges"] == []
    refused = (await database_sync_to_async(call)(ACT, {"input": {"applicationIds": [application["id"]],
                                                                  "action": "APPROVE"}}, "director"))
    assert refused["actOnApplications"]["errors"] == [{"code": "permission_denied"}]

    accepted = (await database_sync_to_async(call)(ACT, {"input": {"applicationIds": [application["id"]],
                                                                   "action": "APPROVE"}}, "clerk"))
    assert accepted["actOnApplications"]["applications"][0]["step"] == {"code": "approve"}
    heard = await _hear(sockets["director"], {"application.approve"})
    assert any(m["kind"] == "application.approve" and m["step"] == "accept" for m in heard)

    approved = (await database_sync_to_async(call)(ACT, {"input": {"applicationIds": [application["id"]],
                                                                   "action": "APPROVE", "note": "准予延续"}},
                                                  "director"))["actOnApplications"]
    assert approved["errors"] == []
    done = approved["applications"][0]
    assert done["status"] == "APPROVED" and done["issued"]["status"] == "VALID"
    assert done["basis"] == {"number": world["certificate"].number, "status": "SUPERSEDED"}
    heard = await _hear(sockets["applicant"], {"application.approve"}, status="APPROVED")
    assert heard[-1]["application"]["status"] == "APPROVED" and heard[-1]["step"] == "approve"

    mine = (await database_sync_to_async(call)(MINE))["myApplications"]["edges"][0]["node"]
    assert [(entry["action"], entry["step"]) for entry in mine["history"]] == [
        ("submit", "受理"), ("approve", "受理"), ("approve", "审批")]
    for socket in sockets.values():
        await socket.ws.disconnect()


UPLOAD = """mutation($input: ApplicationUploadInput!) { uploadApplicationMaterial(input: $input) {
  errors { code message } application { number } } }"""
VERIFY = """query($code: String!) { verifyCertificate(code: $code) { status reason } }"""
ISSUED = """query($id: ID!) { node(id: $id) { ... on Application { issued { number status code } } } }"""


@pytest.mark.django_db(transaction=True)
async def test_the_geographical_indication_runs_through_three_levels_over_the_api(application_catalogue, gql):
    from approvals.services import holder_register
    from tests.approvals.conftest import credit_code, registry, staff
    from tests.approvals.test_applications import _pdf
    from tests.factories import UserFactory

    def world():
        representative = UserFactory(username="producer")
        producer = holder_register(kind="organisation", number=credit_code("91370282MA3C12345"),
                                   name="崂山茶业合作社", representative=representative)
        registry("enterprise_registry", "business_licence", producer, "91370282MA3C12345")
        registry("enterprise_registry", "production_site", producer, "LS-TEA-017")
        people = {"applicant": representative, "market": staff("market_clerk", "market", "clerk"),
                  "examiner": staff("ip_examiner", "province_ip", "examiner"),
                  "announcer": staff("ip_director", "province_ip", "director"),
                  "registrar": staff("cnipa_registrar", "cnipa", "registrar")}
        return producer, {name: issue(user) for name, user in people.items()}

    producer, tokens = await database_sync_to_async(world)()
    sockets = {}
    for name, token in tokens.items():
        _ok, sockets[name] = await open_socket(token)
        await sockets[name].subscribe("a", LISTEN, {})
    await asyncio.sleep(0.5)

    def call(query, variables=None, who="applicant"):
        answer = gql(query, variables or {}, token=tokens[who])
        assert answer.data is not None and not answer.errors, answer.body
        return answer.data

    created = (await database_sync_to_async(call)(CREATE, {"input": {
        "kind": "geographical_indication-new", "holderId": to_base64("Holder", producer.pk),
        "fields": {"product": "崂山绿茶", "indication": "崂山绿茶"}}}))["createApplication"]["application"]
    not_yet = (await database_sync_to_async(call)(SUBMIT, {"input": {"applicationId": created["id"]}}))
    assert not_yet["submitApplication"]["errors"][0]["code"] == "missing_materials"

    def upload():
        return gql.upload(UPLOAD, {"input": {"applicationId": created["id"], "material": "quality_report",
                                             "file": None}}, {"input.file": _pdf().getvalue()},
                          token=tokens["applicant"])

    uploaded = await database_sync_to_async(upload)()
    assert uploaded.data["uploadApplicationMaterial"]["errors"] == [], uploaded.body
    preview = (await database_sync_to_async(call)(PREVIEW, {"id": created["id"]}))["applicationPreview"]
    assert [m["outcome"] for m in preview["materials"]] == ["SOURCE", "SOURCE", "UPLOAD"]
    await database_sync_to_async(call)(CONFIRM, {"input": {"applicationId": created["id"],
                                                           "digest": preview["digest"]}})
    submitted = (await database_sync_to_async(call)(SUBMIT, {"input": {"applicationId": created["id"]}}))
    assert submitted["submitApplication"]["application"]["step"]["code"] == "accept"

    code = None
    assert await _hear(sockets["market"], {"application.submit"})  # the district clerk's queue
    for holder, step, listener in (("market", "accept", "examiner"), ("examiner", "review", "announcer"),
                                   ("announcer", "announce", "registrar"), ("registrar", "file", "applicant")):
        acted = (await database_sync_to_async(call)(ACT, {"input": {"applicationIds": [created["id"]],
                                                                    "action": "APPROVE"}}, holder))
        assert acted["actOnApplications"]["errors"] == [], (holder, acted)
        done = acted["actOnApplications"]["applications"][0]
        if step == "announce":  # issued at the announcement, not in force until the national office files it
            assert done["step"] == {"code": "file"}
            assert done["issued"] is None  # the provincial office does not see the district's certificates
            mine = (await database_sync_to_async(call)(ISSUED, {"id": created["id"]}))["node"]["issued"]
            assert mine["status"] == "PENDING"
            code = mine["code"]
            verdict = (await database_sync_to_async(call)(VERIFY, {"code": code}))["verifyCertificate"]
            assert verdict == {"status": "SUSPENDED", "reason": "not_in_force"}
        assert await _hear(sockets[listener], {"application.approve"}, step=step), listener
    assert done["status"] == "APPROVED"
    mine = (await database_sync_to_async(call)(ISSUED, {"id": created["id"]}))["node"]["issued"]
    assert mine == {"number": mine["number"], "status": "VALID", "code": code}
    verdict = (await database_sync_to_async(call)(VERIFY, {"code": code}))["verifyCertificate"]
    assert verdict == {"status": "VALID", "reason": "ok"}
    for socket in sockets.values():
        await socket.ws.disconnect()


QUEUE_OVERDUE = """{ applicationQueue(overdue: true) { edges { node { number step { code overdue } } } } }"""


@pytest.mark.django_db
def test_a_queue_shows_what_is_overdue_and_takes_bulk_decisions(school_renewal, gql, token_for):
    from datetime import timedelta

    from django.utils import timezone

    from approvals.models import ApplicationKind
    from approvals.services import certificate_issue, holder_register
    from tests.approvals.conftest import SCHOOL_FIELDS, credit_code, registry
    from tests.approvals.test_applications import confirmed_and_submitted, renewal
    from tests.factories import UserFactory

    world = school_renewal
    first = confirmed_and_submitted(renewal(world), world["school"].representative)
    other_rep = UserFactory(username="other_rep")
    other = holder_register(kind="organisation", number=credit_code("52370202MJ7654321"), name="青岛启明培训学校",
                            representative=other_rep)
    registry("social_org_registry", "registration", other, "MF-2")
    registry("school_records", "school", other, "JY-2")
    certificate = certificate_issue(kind=world["kind"], holder=other, fields=SCHOOL_FIELDS, actor=world["staff"])
    second = confirmed_and_submitted(renewal({**world, "school": other, "certificate": certificate}, actor=other_rep),
                                     other_rep)
    with pytest.raises(Exception) as twice:  # one renewal under way per certificate
        renewal(world)
    assert twice.value.error_dict["kind"][0].code == "duplicate_application"
    second.case.deadline = timezone.now() - timedelta(hours=1)
    second.case.save(update_fields=["deadline"])

    clerk, director = token_for(world["clerk"]), token_for(world["director"])
    overdue = gql(QUEUE_OVERDUE, token=clerk).data["applicationQueue"]["edges"]
    assert [edge["node"] for edge in overdue] == [{"number": second.number, "step": {"code": "accept",
                                                                                      "overdue": True}}]
    ids = [to_base64("Application", application.pk) for application in (first, second)]
    bulk = gql(ACT, {"input": {"applicationIds": ids, "action": "APPROVE"}}, token=clerk).data["actOnApplications"]
    assert bulk["refused"] == 0 and [a["step"]["code"] for a in bulk["applications"]] == ["approve", "approve"]
    again = gql(ACT, {"input": {"applicationIds": ids, "action": "APPROVE"}}, token=clerk).data["actOnApplications"]
    assert again["refused"] == 2 and again["applications"] == [] and again["errors"][0]["code"] == "permission_denied"
    rejected = gql(ACT, {"input": {"applicationIds": ids, "action": "REJECT", "note": "办学场所不符合要求"}},
                   token=director).data["actOnApplications"]
    assert [a["status"] for a in rejected["applications"]] == ["REJECTED", "REJECTED"]
    assert ApplicationKind.objects.get(code="private_non_enterprise-renew").applications.filter(
        status="rejected").count() == 2


AUTHORISE = """mutation($input: AuthoriseAgentInput!) { authoriseAgent(input: $input) {
  errors { code field } authorisation { id agent kinds inForce } } }"""
WITHDRAW = """mutation($input: WithdrawAuthorisationInput!) { withdrawAuthorisation(input: $input) {
  errors { code } authorisation { inForce withdrawnAt } } }"""


@pytest.mark.django_db
def test_the_representative_authorises_an_agent_in_the_app_and_withdraws_it(school_renewal, gql, token_for):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import UserFactory

    world = school_renewal
    representative, agent = world["school"].representative, UserFactory(username="clerk_li", display_name="李会计",
                                                                        phone="13912345678")
    school = to_base64("Holder", world["school"].pk)
    until = (timezone.now() + timedelta(days=90)).isoformat()
    variables = {"input": {"holderId": school, "agentPhone": "13912345678", "validUntil": until,
                           "kinds": ["private_non_enterprise"]}}
    refused = gql(AUTHORISE, variables, token=token_for(agent)).data["authoriseAgent"]
    assert refused["errors"][0]["code"] in {"permission_denied", "not_found"} and refused["authorisation"] is None
    nobody = gql(AUTHORISE, {"input": {**variables["input"], "agentPhone": "13000000000"}},
                 token=token_for(representative)).data["authoriseAgent"]
    assert nobody["errors"] == [{"code": "not_found", "field": "agentPhone"}]
    granted = gql(AUTHORISE, variables, token=token_for(representative)).data["authoriseAgent"]
    assert granted["errors"] == [] and granted["authorisation"]["agent"] == "李会计"
    assert granted["authorisation"]["inForce"] is True

    drafted = gql(CREATE, {"input": {"kind": "private_non_enterprise-renew", "holderId": school,
                                     "certificateId": to_base64("Certificate", world["certificate"].pk)}},
                  token=token_for(agent)).data["createApplication"]
    assert drafted["errors"] == [] and drafted["application"]["status"] == "DRAFT"
    seen = gql("{ myAuthorisations { agent organisation inForce } }", token=token_for(agent))
    assert not seen.errors, seen.errors
    seen = seen.data
    assert seen["myAuthorisations"] == [{"agent": "李会计", "organisation": "青岛海韵培训学校", "inForce": True}]

    withdrawn = gql(WITHDRAW, {"input": {"authorisationId": granted["authorisation"]["id"]}},
                    token=token_for(representative)).data["withdrawAuthorisation"]
    assert withdrawn["errors"] == [] and withdrawn["authorisation"]["inForce"] is False
    mine = gql("{ myApplications { edges { node { number } } } }", token=token_for(agent)).data
    assert mine["myApplications"]["edges"] == []  # no longer theirs to follow
