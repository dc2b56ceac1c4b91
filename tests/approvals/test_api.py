"""Certificates over GraphQL and websockets, as the holder's app and the bureau's screen use them."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from strawberry.relay import to_base64

from approvals.services import certificate_issue, certificate_suspend
from tests.api.test_websocket import issue, open_socket
from tests.approvals.conftest import credit_code

WALLET = """{ myCertificates { edges { node { number status kind { code name } holder { name idMasked idNumber }
  code url qrPng history { action toStatus } } } } }"""
VERIFY = """query($code: String!) { verifyCertificate(code: $code) { status reason message facts } }"""
CHANGE = """mutation($input: CertificateChangeInput!) { changeCertificate(input: $input) {
  errors { code field message } certificate { number status statusReason } renewal { number status } } }"""


@pytest.mark.django_db
def test_the_wallet_shows_the_holder_their_certificates_and_their_own_number_only(
        gql, users, token_for, approvals, school_certificate):
    mine = gql(WALLET, token=token_for(users["business"])).data["myCertificates"]["edges"]
    assert [edge["node"]["number"] for edge in mine] == [school_certificate.number]
    node = mine[0]["node"]
    assert node["holder"]["idNumber"] == credit_code() and node["code"].startswith("OG1:")
    assert node["url"].startswith("HTTP://127.0.0.1:8000/V/OG1:") and "/verify/qr.png?code=" in node["qrPng"]
    assert node["history"] == [{"action": "issue", "toStatus": "VALID"}]
    # the bureau sees it with the number masked; a citizen and another department see nothing
    staff = gql("{ certificates { edges { node { number holder { idMasked idNumber } } } } }",
                token=token_for(approvals["staff"])).data["certificates"]["edges"]
    assert staff == [{"node": {"number": school_certificate.number,
                               "holder": {"idMasked": school_certificate.holder.id_masked, "idNumber": None}}}]
    for other in ("citizen", "urban"):
        assert gql(WALLET, token=token_for(users[other])).data["myCertificates"]["edges"] == []
        assert gql("{ certificates { edges { node { number } } } }",
                   token=token_for(users[other])).data["certificates"]["edges"] == []
        node_query = "query($id: ID!) { node(id: $id) { ... on Certificate { number } } }"
        assert gql(node_query, {"id": to_base64("Certificate", school_certificate.pk)},
                   token=token_for(users[other])).data["node"] is None


@pytest.mark.django_db
def test_verify_certificate_needs_no_sign_in_and_says_why(gql, school_certificate, approvals):
    answer = gql(VERIFY, {"code": school_certificate.code}).data["verifyCertificate"]
    assert answer["status"] == "VALID" and answer["facts"]["holder"] == "青岛海韵培训学校"
    forged = school_certificate.code[:-6] + ("AAAAAA" if not school_certificate.code.endswith("AAAAAA") else "BBBBBB")
    assert gql(VERIFY, {"code": forged}).data["verifyCertificate"]["status"] == "INVALID"
    certificate_suspend(actor=approvals["staff"], certificate_id=school_certificate.pk, reason="整改")
    answer = gql(VERIFY, {"code": school_certificate.code}, language="en").data["verifyCertificate"]
    assert answer == {"status": "SUSPENDED", "reason": "suspended", "facts": None,
                      "message": "The issuing department has suspended this certificate."}


@pytest.mark.django_db
def test_the_issuing_department_changes_a_status_with_typed_errors(gql, users, token_for, approvals,
                                                                  school_certificate):
    cid = to_base64("Certificate", school_certificate.pk)
    staff = token_for(approvals["staff"])
    refused = gql(CHANGE, {"input": {"certificateId": cid, "action": "REVOKE"}}, token=staff).data
    assert refused["changeCertificate"]["errors"][0]["code"] == "required"
    done = gql(CHANGE, {"input": {"certificateId": cid, "action": "SUSPEND", "reason": "整改"}}, token=staff).data
    assert done["changeCertificate"]["certificate"] == {"number": school_certificate.number, "status": "SUSPENDED",
                                                         "statusReason": "整改"}
    holder = gql(CHANGE, {"input": {"certificateId": cid, "action": "REINSTATE"}},
                 token=token_for(users["business"])).data["changeCertificate"]
    assert holder["errors"][0]["code"] == "permission_denied" and holder["certificate"] is None
    renewed = gql(CHANGE, {"input": {"certificateId": cid, "action": "RENEW", "fields": {"funds": "80"}}},
                  token=staff).data["changeCertificate"]
    assert renewed["errors"] == [] and renewed["certificate"]["status"] == "SUPERSEDED"
    assert renewed["renewal"]["status"] == "VALID"


@pytest.mark.django_db(transaction=True)
async def test_the_holder_hears_of_a_status_change_by_subscription(users, approvals, school_certificate):
    _ok, socket = await open_socket(await database_sync_to_async(issue)(users["business"]))
    await socket.subscribe("c", """subscription { certificateChanged { kind status reason
      certificate { number status } } }""", {})
    import asyncio

    await asyncio.sleep(0.5)
    await database_sync_to_async(certificate_suspend)(actor=approvals["staff"], certificate_id=school_certificate.pk,
                                                      reason="消防整改")
    message = (await socket.next(timeout=10))["payload"]["data"]["certificateChanged"]
    assert message == {"kind": "certificate.suspend", "status": "SUSPENDED", "reason": "消防整改",
                       "certificate": {"number": school_certificate.number, "status": "SUSPENDED"}}
    await socket.ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_another_holder_hears_nothing(users, approvals, school_certificate):
    _ok, socket = await open_socket(await database_sync_to_async(issue)(users["citizen"]))
    await socket.subscribe("c", "subscription { certificateChanged { kind } }", {})
    import asyncio

    await asyncio.sleep(0.5)

    def act():
        certificate_suspend(actor=approvals["staff"], certificate_id=school_certificate.pk, reason="x")
        return certificate_issue(kind=approvals["kind"].__class__.objects.get(code="pet_dog"),
                                 holder=approvals["person"], actor=None,
                                 fields={"dog_name": "豆豆", "breed": "柯基", "born": "2024-05-01",
                                         "address": "市南区香港中路 20 号"})

    mine = await database_sync_to_async(act)()
    message = (await socket.next(timeout=10))["payload"]["data"]["certificateChanged"]
    assert message == {"kind": "certificate.issue"}, "only the citizen's own certificate, not the school's"
    assert mine.number
    await socket.ws.disconnect()
