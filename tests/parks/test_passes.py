"""One code through the park, decided by the server: who passes where, drift, replay, revocation, rotation, the
offline gate's bundle and uploads, presence."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cwt import COSEKey
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from certkit import TrustList
from core.models import Notification
from parks.keys import park_jwks
from parks.models import Passage, PassCredential
from parks.selectors import presence_by_building
from parks.services import (
    credential_provision,
    employee_status_set,
    gate_bundle,
    gate_enrol,
    gate_pass,
    passages_upload,
)
from parks.visitors import invitation_create, invitation_withdraw, visitor_pass
from passkit.sync import SyncError, bundle_read, upload_sign
from tests.parks.conftest import Phone

pytestmark = pytest.mark.django_db


def passed(sp, phone, gate, now, direction="in", actor=None):
    passage = gate_pass(actor=actor or sp.gate_account, gate_id=sp.gates[gate].pk, code=phone.code(now),
                        direction=direction, now=now)
    return passage.reason


def test_an_employee_passes_their_building_the_canteen_and_the_entrance_once_per_step(software_park):
    sp, now = software_park, time.time()
    phone = Phone(sp.employee.user, sp.park)
    code = phone.code(now)
    first = gate_pass(actor=sp.gate_account, gate_id=sp.gates["A-door"].pk, code=code, direction="in", now=now)
    assert (first.result, first.reason, first.employee, first.mode) == ("passed", "ok", sp.employee, "online")
    again = gate_pass(actor=sp.gate_account, gate_id=sp.gates["A-door"].pk, code=code, direction="in", now=now + 1)
    assert (again.result, again.reason) == ("refused", "replayed")  # a screenshot shown twice
    assert passed(sp, phone, "A-door", now + 2, direction="out") == "ok"
    assert passed(sp, phone, "canteen", now) == "ok"
    assert passed(sp, phone, "north", now) == "ok"
    assert passed(sp, phone, "B-door", now) == "not_here"  # another enterprise's building
    operator = Phone(sp.operator, sp.park)
    assert passed(sp, operator, "B-door", now) == "ok"  # the operator's staff pass everywhere
    assert Passage.objects.filter(result="refused").count() == 2  # every refusal is logged with its reason


def test_only_the_parks_gates_and_staff_pass_codes(software_park, users):
    sp, now = software_park, time.time()
    phone = Phone(sp.employee.user, sp.park)
    for stranger in (users["citizen"], sp.colleague.user):
        with pytest.raises(PermissionDenied):
            gate_pass(actor=stranger, gate_id=sp.gates["north"].pk, code=phone.code(now), direction="in")
    with pytest.raises(ValidationError):
        gate_pass(actor=sp.gate_account, gate_id=sp.gates["north"].pk, code=phone.code(now), direction="up")
    with pytest.raises(PermissionDenied):  # someone who does not work in the park gets no credential
        credential_provision(user=users["citizen"], park=sp.park)
    with pytest.raises(ValidationError) as error:
        credential_provision(user=sp.employee.user, park=sp.park, device_public_key="not-a-key")
    assert error.value.error_dict["public_key"][0].code == "invalid_key"


def test_one_step_of_drift_passes_and_is_recorded_two_are_refused(software_park):
    sp, now = software_park, time.time()
    phone = Phone(sp.employee.user, sp.park)
    late = gate_pass(actor=sp.gate_account, gate_id=sp.gates["north"].pk, code=phone.code(now - 30),
                     direction="in", now=now)
    assert (late.result, late.drift) == ("passed", -1)
    ahead = gate_pass(actor=sp.gate_account, gate_id=sp.gates["north"].pk, code=phone.code(now + 30),
                      direction="out", now=now)
    assert (ahead.result, ahead.drift) == ("passed", 1)
    assert passed(sp, phone, "canteen", now - 60 - 1, direction="in") == "ok"  # shown then, scanned then
    stale = gate_pass(actor=sp.gate_account, gate_id=sp.gates["canteen"].pk, code=phone.code(now - 60),
                      direction="out", now=now)
    assert (stale.result, stale.reason, stale.drift) == ("refused", "stale", -2)
    future = gate_pass(actor=sp.gate_account, gate_id=sp.gates["canteen"].pk, code=phone.code(now + 60),
                       direction="out", now=now)
    assert future.reason == "future"


def test_a_blocked_employee_and_a_rotated_phone_are_refused_within_the_step(software_park):
    sp, now = software_park, time.time()
    phone = Phone(sp.employee.user, sp.park)
    assert passed(sp, phone, "north", now) == "ok"
    employee_status_set(actor=sp.operator, employee_id=sp.employee.pk, status="blocked", reason="门禁违规")
    assert passed(sp, phone, "north", now + 1, direction="out") == "revoked"  # the same step
    with pytest.raises(PermissionDenied):
        Phone(sp.employee.user, sp.park)  # no new credential while blocked
    employee_status_set(actor=sp.operator, employee_id=sp.employee.pk, status="active")
    assert passed(sp, phone, "A-door", now + 2) == "revoked"  # working again, with a new credential only
    new = Phone(sp.employee.user, sp.park)
    assert passed(sp, new, "north", now + 2, direction="out") == "ok"
    newer = Phone(sp.employee.user, sp.park)  # provisioned again: the rotation
    assert passed(sp, new, "A-door", now + 3) == "revoked"
    assert passed(sp, newer, "A-door", now + 3) == "ok"
    assert PassCredential.objects.get(credential_id=new.provisioned.credential.credential_id).revoked_reason == \
        "rotated"
    with pytest.raises(PermissionDenied):
        employee_status_set(actor=sp.employee.user, employee_id=sp.colleague.pk, status="left")


def test_the_gate_bundle_is_signed_and_carries_revocations_as_deltas(software_park):
    sp = software_park
    trust = TrustList.from_jwks(park_jwks(park=sp.park))
    first = bundle_read(gate_bundle(park=sp.park, gate=sp.gates["A-door"], since=-1), keys=trust,
                        park="software-park", gate="A-door")
    assert (first.full, first.revoked, first.rule.building) == (True, (), "A")
    leaving = Phone(sp.colleague.user, sp.park)
    employee_status_set(actor=sp.operator, employee_id=sp.colleague.pk, status="left")
    delta = bundle_read(gate_bundle(park=sp.park, gate=sp.gates["A-door"], since=first.version), keys=trust,
                        park="software-park", gate="A-door")
    assert delta.full is False and delta.version == first.version + 1
    assert delta.revoked == (bytes.fromhex(leaving.provisioned.credential.credential_id),)
    nothing_new = bundle_read(gate_bundle(park=sp.park, gate=sp.gates["A-door"], since=delta.version), keys=trust,
                              park="software-park", gate="A-door")
    assert nothing_new.revoked == ()
    with pytest.raises(SyncError) as error:  # a bundle for another gate is not taken
        bundle_read(gate_bundle(park=sp.park, gate=sp.gates["B-door"], since=-1), keys=trust,
                    park="software-park", gate="A-door")
    assert error.value.reason == "wrong_gate"


def gate_key():
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return private, COSEKey.from_pem(pem, alg="EdDSA", kid=b"gate")


def test_an_offline_gates_log_is_stored_once_whatever_the_order_and_moves_presence_forward(software_park):
    sp, now = software_park, time.time()
    private, key = gate_key()
    gate_enrol(gate=sp.gates["A-door"], public_key=private.public_key())
    credential = bytes.fromhex(Phone(sp.employee.user, sp.park).provisioned.credential.credential_id)
    entries = [
        {"id": "e2", "at": now - 60, "direction": "out", "ok": True, "reason": "ok", "drift": 0,
         "step": int((now - 60) // 30), "credential": credential},
        {"id": "e1", "at": now - 600, "direction": "in", "ok": True, "reason": "ok", "drift": -1,
         "step": int((now - 600) // 30), "credential": credential},
        {"id": "e3", "at": now - 30, "direction": "in", "ok": False, "reason": "bad_signature", "drift": 0,
         "step": None, "credential": None},
    ]
    data = upload_sign(gate_key=key, park="software-park", gate="A-door", entries=entries)
    result = passages_upload(data=data)
    assert (result.accepted, result.duplicates, result.refused) == (3, 0, ())
    again = passages_upload(data=data)  # sent twice (the gate never heard the answer)
    assert (again.accepted, again.duplicates) == (0, 3)
    assert Passage.objects.filter(mode="offline").count() == 3
    # Out of order: the later "out" wins over the earlier "in", so the employee is in the park, in no building.
    assert presence_by_building(park=sp.park) == [(None, 1)]
    in_again = {"id": "e4", "at": now - 10, "direction": "in", "ok": True, "reason": "ok", "drift": 0,
                "step": int((now - 10) // 30), "credential": credential}
    passages_upload(data=upload_sign(gate_key=key, park="software-park", gate="A-door", entries=[in_again]))
    assert presence_by_building(park=sp.park) == [(sp.buildings["A"].pk, 1)]


def test_forged_and_foreign_uploads_are_refused_with_their_reason(software_park):
    sp, now = software_park, time.time()
    private, key = gate_key()
    gate_enrol(gate=sp.gates["A-door"], public_key=private.public_key())
    entry = {"id": "x", "at": now, "direction": "in", "ok": True, "reason": "ok", "drift": 0, "step": 1,
             "credential": None}
    _forger_private, forger = gate_key()
    cases = [
        (upload_sign(gate_key=forger, park="software-park", gate="A-door", entries=[entry]), "bad_signature"),
        (upload_sign(gate_key=key, park="software-park", gate="B-door", entries=[entry]), "unknown_gate"),
        (b"\xa1\x01", "malformed"),
    ]
    for data, reason in cases:
        with pytest.raises(SyncError) as error:
            passages_upload(data=data)
        assert error.value.reason == reason
    odd = [{**entry, "id": "future", "at": now + 3600}, {**entry, "id": "old", "at": now - 90 * 86400},
           {**entry, "id": "bad", "direction": "sideways"}, {"id": "empty"}]
    result = passages_upload(data=upload_sign(gate_key=key, park="software-park", gate="A-door", entries=odd))
    assert result.accepted == 0 and dict(result.refused) == {"future": "future", "old": "too_old",
                                                             "bad": "malformed", "empty": "malformed"}
    assert not Passage.objects.exists()


def test_a_visitor_passes_where_and_when_invited_and_the_host_is_told(software_park):
    sp, now = software_park, time.time()
    start = timezone.now() - timedelta(minutes=5)
    invited = invitation_create(actor=sp.employee.user, park=sp.park, visitor_name="周立", visitor_phone="139 1234 5678",
                                purpose="项目评审", valid_from=start, valid_until=start + timedelta(hours=3),
                                building_ids=[sp.buildings["B"].pk])
    token = invited.link.rsplit("/", 1)[1]
    shown = visitor_pass(token=token, now=now)
    assert shown.state == "ok" and shown.code.startswith("OGP1:")
    door = gate_pass(actor=sp.gate_account, gate_id=sp.gates["B-door"].pk, code=shown.code, direction="in", now=now)
    assert (door.result, door.invitation) == ("passed", invited.invitation)
    assert Notification.objects.filter(recipient=sp.employee.user, source=f"passage:{door.pk}").exists()
    assert gate_pass(actor=sp.gate_account, gate_id=sp.gates["A-door"].pk, code=shown.code, direction="in",
                     now=now).reason == "not_here"
    assert gate_pass(actor=sp.gate_account, gate_id=sp.gates["canteen"].pk, code=shown.code, direction="in",
                     now=now).reason == "not_here"
    early = visitor_pass(token=token, now=start.timestamp() - 600)
    assert early.state == "not_yet" and gate_pass(actor=sp.gate_account, gate_id=sp.gates["B-door"].pk,
                                                  code=early.code, direction="in",
                                                  now=start.timestamp() - 600).reason == "not_yet"
    invitation_withdraw(actor=sp.employee.user, invitation_id=invited.invitation.pk)
    assert gate_pass(actor=sp.gate_account, gate_id=sp.gates["B-door"].pk, code=shown.code, direction="out",
                     now=now).reason == "revoked"
    assert visitor_pass(token=token, now=now).state == "withdrawn"
    assert visitor_pass(token="x" * 32) is None


def test_invitations_refuse_wrong_input_and_strangers(software_park, users):
    sp = software_park
    start = timezone.now()
    good = {"park": sp.park, "visitor_name": "周立", "visitor_phone": "13912345678", "purpose": "面试",
            "valid_from": start, "valid_until": start + timedelta(hours=2)}
    with pytest.raises(PermissionDenied):
        invitation_create(actor=users["citizen"], **good)
    cases = {"visitor_phone": ({"visitor_phone": "12345"}, "invalid_phone"),
             "valid_until": ({"valid_until": start - timedelta(hours=1)}, "invalid_window"),
             "visitor_name": ({"visitor_name": " "}, "required")}
    for field, (change, code) in cases.items():
        with pytest.raises(ValidationError) as error:
            invitation_create(actor=sp.employee.user, **{**good, **change})
        assert error.value.error_dict[field][0].code == code
    with pytest.raises(ValidationError) as error:
        invitation_create(actor=sp.employee.user, **{**good, "valid_until": start + timedelta(days=20)})
    assert error.value.error_dict["valid_until"][0].code == "too_long_visit"
    invited = invitation_create(actor=sp.employee.user, **good)
    with pytest.raises(ValidationError):  # someone else's invitation is not theirs to withdraw
        invitation_withdraw(actor=sp.other.user, invitation_id=invited.invitation.pk)


def test_a_code_of_another_park_is_refused(software_park):
    from parks.models import Building, Employee, Enterprise, Park
    from tests.factories import UserFactory

    sp, now = software_park, time.time()
    animation = Park.objects.create(code="animation-park", name="国际动漫游戏产业园")
    studio = Enterprise.objects.create(park=animation, name="青岛光影动画有限公司")
    studio.buildings.set([Building.objects.create(park=animation, code="M1", name="1 号楼")])
    animator = Employee.objects.create(user=UserFactory(username="animator"), enterprise=studio)
    elsewhere = Phone(animator.user, animation)  # signed by the animation park's own key
    refused = gate_pass(actor=sp.gate_account, gate_id=sp.gates["north"].pk, code=elsewhere.code(now),
                        direction="in", now=now)
    assert (refused.result, refused.reason, refused.credential) == ("refused", "unknown_key", None)
    with pytest.raises(PermissionDenied):  # nor does working in one park give a credential for the other
        credential_provision(user=animator.user, park=sp.park)
