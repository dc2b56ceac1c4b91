"""The one-code kit as a gate uses it offline: the park's key and a revocation list, nothing else."""

from __future__ import annotations

import subprocess
import sys

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cwt import COSEKey

from certkit import TrustList, jwk_of, kid_of_public_key
from passkit import Access, GateRule, GateVerifier, Role, credential_issue, pass_code

NOW = 1_796_000_000.0  # a step boundary is every 30 s


def ed25519_key(kid: bytes | None = None):
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    kid = kid or kid_of_public_key(private.public_key())
    return COSEKey.from_pem(pem, alg="EdDSA", kid=kid), private


@pytest.fixture(scope="module")
def park():
    key, private = ed25519_key()
    return key, TrustList.from_jwks({"keys": [jwk_of(private.public_key(), kid=key.kid)]})


EMPLOYEE_OF_A = Access(role=Role.EMPLOYEE, buildings=frozenset({"A"}))
G = GateRule(code="g", kind="entrance")


def employee(park_key, *, park_name="software-park", subject="employee:42", credential_id=b"cred-42",
             expires=NOW + 86400, access=EMPLOYEE_OF_A):
    device, _private = ed25519_key(kid=b"device")
    credential = credential_issue(park_key=park_key, park=park_name, subject=subject, device_key=device,
                                  credential_id=credential_id, issued_at=int(NOW - 60), expires_at=int(expires),
                                  access=access)
    return device, credential


def gate(trust, **kwargs):
    return GateVerifier(park="software-park", keys=trust, **kwargs)


def test_a_code_passes_once_per_gate_and_direction_within_its_step(park):
    key, trust = park
    device, credential = employee(key)
    code = pass_code(credential=credential, device_key=device, now=NOW + 3)
    assert len(code) < 500 and code.startswith("OGP1:")
    verifier = gate(trust)
    door = GateRule(code="A-door", kind="building", building="A")
    first = verifier.verify(code, gate=door, direction="in", now=NOW + 5)
    assert (first.ok, first.reason, first.subject, first.drift) == (True, "ok", "employee:42", 0)
    assert verifier.verify(code, gate=door, direction="in", now=NOW + 6).reason == "replayed"
    assert verifier.verify(code, gate=door, direction="out", now=NOW + 7).ok
    assert verifier.verify(code, gate=GateRule(code="canteen", kind="canteen"), direction="in", now=NOW + 8).ok


def test_one_step_of_drift_is_tolerated_and_said_two_are_refused(park):
    key, trust = park
    device, credential = employee(key)
    verifier = gate(trust)
    for shown, drift in ((NOW - 30, -1), (NOW + 30, 1)):
        found = verifier.verify(pass_code(credential=credential, device_key=device, now=shown), gate=G,
                                direction="in", now=NOW + 1)
        assert (found.ok, found.drift) == (True, drift)
    assert verifier.verify(pass_code(credential=credential, device_key=device, now=NOW - 60), gate=G,
                           direction="in", now=NOW + 1).reason == "stale"
    assert verifier.verify(pass_code(credential=credential, device_key=device, now=NOW + 61), gate=G,
                           direction="in", now=NOW + 1).reason == "future"


def test_revocation_takes_effect_at_the_next_sync(park):
    key, trust = park
    device, credential = employee(key, credential_id=b"leaver")
    verifier = gate(trust)
    assert verifier.verify(pass_code(credential=credential, device_key=device, now=NOW), gate=G, direction="in",
                           now=NOW).ok
    verifier.revocations_replace({b"leaver"})
    assert verifier.verify(pass_code(credential=credential, device_key=device, now=NOW + 30), gate=G,
                           direction="in", now=NOW + 30).reason == "revoked"


def test_forged_truncated_foreign_and_expired_codes_are_refused_with_their_reason(park):
    key, trust = park
    device, credential = employee(key)
    verifier = gate(trust)
    good = pass_code(credential=credential, device_key=device, now=NOW)

    other_device, _ = ed25519_key(kid=b"device")  # someone else's phone with a copied credential
    assert verifier.verify(pass_code(credential=credential, device_key=other_device, now=NOW), gate=G,
                           direction="in", now=NOW).reason == "bad_signature"
    rogue, _ = ed25519_key()  # a credential signed by a key the park never published
    _d, forged = employee(rogue)
    assert verifier.verify(pass_code(credential=forged, device_key=_d, now=NOW), gate=G, direction="in",
                           now=NOW).reason == "unknown_key"
    impostor, _ = ed25519_key(kid=key.kid)  # the park's key id, another key
    _d2, forged_kid = employee(impostor)
    assert verifier.verify(pass_code(credential=forged_kid, device_key=_d2, now=NOW), gate=G, direction="in",
                           now=NOW).reason == "bad_credential"
    elsewhere_device, elsewhere = employee(key, park_name="animation-park")
    assert verifier.verify(pass_code(credential=elsewhere, device_key=elsewhere_device, now=NOW), gate=G,
                           direction="in", now=NOW).reason == "wrong_park"
    old_device, old = employee(key, expires=NOW - 1)
    assert verifier.verify(pass_code(credential=old, device_key=old_device, now=NOW), gate=G, direction="in",
                           now=NOW).reason == "expired"

    message = cbor2.loads(base45.b45decode(good[5:]))
    message.value[2] = cbor2.dumps({1: int(NOW // 30) + 1})  # the step moved, the signature not
    assert verifier.verify("OGP1:" + base45.b45encode(cbor2.dumps(message)).decode(), gate=G, direction="in",
                           now=NOW).reason == "bad_signature"
    for text, reason in ((good[:-10], "malformed"), ("OGP1:%%%%", "malformed"), ("HC1:" + good[5:], "wrong_prefix"),
                         ("OGP1:" + "0" * 5000, "malformed"), ("", "wrong_prefix")):
        assert verifier.verify(text, gate=G, direction="in", now=NOW).reason == reason, text[:20]


def test_the_kit_runs_without_django():
    script = ("import sys; sys.modules['django'] = None; import passkit; "
              "print(passkit.GateVerifier.__name__)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "GateVerifier", result.stderr
