"""The one code through the real schema over HTTP and websockets: a phone provisioned, a gate passing codes, a
visitor invited and heard passing by the operator and the host."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cwt import COSEKey
from django.test import Client
from django.utils import timezone
from strawberry.relay import to_base64

from passkit import pass_code
from tests.api.test_websocket import issue, open_socket

PROVISION = """mutation($input: ProvisionPassInput!) { provisionPass(input: $input) {
  errors { code field } credential { park credentialId token expiresAt stepSeconds privateKeyPem } } }"""
PASS = """mutation($input: GatePassInput!) { gatePass(input: $input) {
  errors { code } passed reason drift passage { person result } } }"""
INVITE = """mutation($input: InviteVisitorInput!) { inviteVisitor(input: $input) {
  errors { code field } link invitation { id visitorName buildings { code } } } }"""
WITHDRAW = """mutation($input: WithdrawInvitationInput!) { withdrawInvitation(input: $input) {
  errors { code } invitation { withdrawnAt } } }"""
LISTEN = """subscription($park: ID) { gatePassage(parkId: $park) { result reason person direction mode
  gate { code } invitation { visitorName } } }"""


def phone_key():
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), COSEKey.from_pem(pem, alg="EdDSA", kid=b"device")


def token_bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.django_db
def test_a_phone_is_provisioned_and_its_codes_pass_an_online_gate(software_park, gql, token_for, users):
    sp = software_park
    public, key = phone_key()
    park_id = to_base64("Park", sp.park.pk)
    answer = gql(PROVISION, {"input": {"parkId": park_id, "publicKey": public}}, token=token_for(sp.employee.user))
    credential = answer.data["provisionPass"]["credential"]
    assert answer.data["provisionPass"]["errors"] == [] and credential["privateKeyPem"] is None
    assert credential["stepSeconds"] == 30 and credential["park"] == "software-park"
    code = pass_code(credential=token_bytes(credential["token"]), device_key=key)
    gate, operator = token_for(sp.gate_account), token_for(sp.operator)
    door = {"code": code, "gateId": to_base64("Gate", sp.gates["A-door"].pk), "direction": "IN"}
    first = gql(PASS, {"input": door}, token=gate).data["gatePass"]
    # The gate controller learns the verdict, not who passed: the passage is for the operator.
    assert (first["passed"], first["reason"], first["passage"]) == (True, "ok", None)
    assert gql(PASS, {"input": door}, token=gate).data["gatePass"]["reason"] == "replayed"
    by_operator = gql(PASS, {"input": {**door, "direction": "OUT"}}, token=operator).data["gatePass"]
    assert by_operator["passage"] == {"person": str(sp.employee.user), "result": "PASSED"}
    forged = gql(PASS, {"input": {**door, "code": code[:-8] + "AAAAAAAA"}}, token=gate).data["gatePass"]
    assert forged["passed"] is False and forged["reason"] in ("bad_signature", "malformed")
    # A server-made key for a phone that cannot make one: its private half once, in the answer.
    made = gql(PROVISION, {"input": {"parkId": park_id}}, token=token_for(sp.colleague.user)).data
    assert made["provisionPass"]["credential"]["privateKeyPem"].startswith("-----BEGIN PRIVATE KEY-----")
    for who, mutation, variables, code_expected in (
            (users["citizen"], PROVISION, {"input": {"parkId": park_id, "publicKey": public}}, "permission_denied"),
            (sp.employee.user, PROVISION, {"input": {"parkId": park_id, "publicKey": "AAAA"}}, "invalid_key"),
            (sp.employee.user, PASS, {"input": door}, "permission_denied"),
            (users["citizen"], PASS, {"input": {**door, "gateId": to_base64("Gate", 99999)}}, "not_found")):
        found = gql(mutation, variables, token=token_for(who)).data
        assert [e["code"] for e in next(iter(found.values()))["errors"]] == [code_expected], (who, found)


@pytest.mark.django_db
def test_the_operator_sees_the_park_and_an_employee_only_their_own(software_park, gql, token_for):
    sp = software_park
    public, key = phone_key()
    park_id = to_base64("Park", sp.park.pk)
    token = gql(PROVISION, {"input": {"parkId": park_id, "publicKey": public}},
                token=token_for(sp.employee.user)).data["provisionPass"]["credential"]["token"]
    now = time.time()
    for gate, direction in (("north", "IN"), ("A-door", "IN")):
        gql(PASS, {"input": {"code": pass_code(credential=token_bytes(token), device_key=key, now=now),
                             "gateId": to_base64("Gate", sp.gates[gate].pk), "direction": direction}},
            token=token_for(sp.gate_account))
    presence = """query($park: ID!) { parkPresence(parkId: $park) { total buildings { people building { code } } } }"""
    seen = gql(presence, {"park": park_id}, token=token_for(sp.operator)).data["parkPresence"]
    assert seen == {"total": 1, "buildings": [{"people": 1, "building": {"code": "A"}}]}
    refused = gql(presence, {"park": park_id}, token=token_for(sp.employee.user))
    assert refused.data is None and refused.error_codes == ["not_found"]
    passages = "{ passages { edges { node { person gate { code } } } } }"
    assert len(gql(passages, token=token_for(sp.operator)).data["passages"]["edges"]) == 2
    assert len(gql(passages, token=token_for(sp.employee.user)).data["passages"]["edges"]) == 2
    assert gql(passages, token=token_for(sp.colleague.user)).data["passages"]["edges"] == []


@pytest.mark.django_db(transaction=True)
async def test_the_operator_and_the_host_hear_a_visitor_pass_and_a_withdrawn_code_is_refused(software_park, gql):
    sp = software_park
    tokens = {name: await database_sync_to_async(issue)(user) for name, user in
              (("host", sp.employee.user), ("operator", sp.operator), ("gate", sp.gate_account),
               ("colleague", sp.colleague.user))}
    sockets = {}
    park_id = to_base64("Park", sp.park.pk)
    for name in ("host", "operator", "colleague"):
        _ok, sockets[name] = await open_socket(tokens[name])
        await sockets[name].subscribe("p", LISTEN, {"park": park_id} if name == "operator" else {})
    await asyncio.sleep(0.5)

    def call(query, variables, who):
        answer = gql(query, variables, token=tokens[who])
        assert answer.data is not None and not answer.errors, answer.body
        return answer.data

    start = timezone.now() - timedelta(minutes=1)
    invited = (await database_sync_to_async(call)(INVITE, {"input": {
        "parkId": park_id, "visitorName": "周立", "visitorPhone": "13912345678", "purpose": "项目评审",
        "validFrom": start.isoformat(), "validUntil": (start + timedelta(hours=2)).isoformat(),
        "buildingIds": [to_base64("Building", sp.buildings["A"].pk)]}}, "host"))["inviteVisitor"]
    assert invited["errors"] == [] and invited["invitation"]["buildings"] == [{"code": "A"}]
    link = invited["link"]
    path = link[link.index("/parks/visit/"):]
    page = await database_sync_to_async(Client().get)(path, {"lang": "en"})
    assert page.status_code == 200 and b"<svg" in page.content and b"Visitor pass" in page.content
    chinese = (await database_sync_to_async(Client().get)(path, {"lang": "zh-hans"})).content.decode()
    assert "访客通行码" in chinese and "请在闸机前出示此码" in chinese and "周立" in chinese
    picture = await database_sync_to_async(Client().get)(path + "/code.png")
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    code = await database_sync_to_async(_code_on_page)(path)

    gate_id = to_base64("Gate", sp.gates["A-door"].pk)
    passed = (await database_sync_to_async(call)(PASS, {"input": {"code": code, "gateId": gate_id, "direction": "IN"}},
                                                  "gate"))["gatePass"]
    assert passed["passed"] is True
    for name in ("operator", "host"):
        heard = (await sockets[name].next(timeout=10))["payload"]["data"]["gatePassage"]
        assert heard == {"result": "PASSED", "reason": "ok", "person": "周立", "direction": "IN", "mode": "ONLINE",
                         "gate": {"code": "A-door"}, "invitation": {"visitorName": "周立"}}, name
    assert await sockets["colleague"].ws.receive_nothing(timeout=1.5)  # nothing of someone else's visitor

    await database_sync_to_async(call)(WITHDRAW, {"input": {"invitationId": invited["invitation"]["id"]}}, "host")
    refused = (await database_sync_to_async(call)(PASS, {"input": {"code": code, "gateId": gate_id,
                                                                    "direction": "OUT"}}, "gate"))["gatePass"]
    assert (refused["passed"], refused["reason"]) == (False, "revoked")
    heard = (await sockets["operator"].next(timeout=10))["payload"]["data"]["gatePassage"]
    assert (heard["result"], heard["reason"]) == ("REFUSED", "revoked")
    gone = await database_sync_to_async(Client().get)(path)
    assert gone.status_code == 410 and "data-state=\"withdrawn\"" in gone.content.decode()
    for socket in sockets.values():
        await socket.ws.disconnect()


def _code_on_page(path: str) -> str:
    """The code the visitor's page shows, read back from its QR picture as a gate's scanner would."""
    import io

    import cv2
    import numpy as np
    from PIL import Image

    picture = Image.open(io.BytesIO(Client().get(path + "/code.png").content)).convert("L")
    text, _points, _straight = cv2.QRCodeDetector().detectAndDecode(np.array(picture))
    assert text.startswith("OGP1:"), text
    return text
