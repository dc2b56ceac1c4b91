"""The offline kit on codes of any issuer of this shape: keys of three algorithms as JWK Sets or X.509
certificates, the EU rules on key ids and times, status lists, and every malformed input it must survive."""

from __future__ import annotations

import datetime as dt
import time
import zlib

import base45
import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from cwt import COSE, COSEKey

from certkit import (
    Status,
    StatusBits,
    StatusListToken,
    StatusValue,
    TrustList,
    code_from_text,
    envelope_encode,
    jwk_of,
    kid_of_certificate,
    kid_of_public_key,
    verify,
)
from certkit.codes import code_url
from certkit.status import CLAIM_STATUS_LIST, CLAIM_TTL, STATUS_LIST_TYP
from certkit.verify import CLAIM_CERTIFICATE

NOW = 1_800_000_000
LIST_URI = "https://issuer.example/status/1"
ALGORITHM_IDS = {"ES256": -7, "PS256": -37, "EdDSA": -8}


def private_key(algorithm: str):
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "PS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def sign(claims: dict, key, *, kid: bytes, algorithm: str = "ES256", protected_kid: bool = True,
         typ: str | None = None) -> bytes:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    signer = COSEKey.from_pem(pem, alg=algorithm, kid=kid)
    protected = {1: ALGORITHM_IDS[algorithm], **({4: kid} if protected_kid else {})}
    if typ:
        protected[16] = typ
    return COSE.new().encode_and_sign(cbor2.dumps(claims), signer, protected=protected,
                                      unprotected={} if protected_kid else {4: kid})


def certificate_claims(*, idx: int | None = 7, iat: int = NOW - 3600, exp: int = NOW + 86400, **extra) -> dict:
    claims = {1: "https://issuer.example", 6: iat, 4: exp, 7: b"\x01\x02",
              CLAIM_CERTIFICATE: {"n": "ZJ-2026-000001", "k": "food_business", "h": "西湖食品有限公司"}, **extra}
    if idx is not None:
        claims[65535] = {"status_list": {"idx": idx, "uri": LIST_URI}}
    return claims


def status_list(key, kid: bytes, *, set_to: dict[int, int] | None = None, exp: int = NOW + 3600,
                uri: str = LIST_URI, typ: str = STATUS_LIST_TYP) -> bytes:
    bits = StatusBits(131072, 2)
    for index, value in (set_to or {}).items():
        bits[index] = value
    claims = {2: uri, 6: NOW - 60, 4: exp, CLAIM_TTL: 300, CLAIM_STATUS_LIST: {"bits": 2, "lst": bits.compressed()}}
    return sign(claims, key, kid=kid, typ=typ)


@pytest.fixture(scope="module")
def issuer():
    key = private_key("ES256")
    kid = kid_of_public_key(key.public_key())
    return key, kid, TrustList.from_jwks({"keys": [jwk_of(key.public_key(), kid=kid)]})


def code_of(claims: dict, key, kid: bytes, **kwargs) -> str:
    return envelope_encode(sign(claims, key, kid=kid, **kwargs))


@pytest.mark.parametrize("algorithm", ["ES256", "PS256", "EdDSA"])
def test_each_algorithm_verifies_from_a_jwk_set(algorithm):
    key = private_key(algorithm)
    kid = kid_of_public_key(key.public_key())
    trust = TrustList.from_jwks({"keys": [jwk_of(key.public_key(), kid=kid)]})
    lists = {LIST_URI: status_list(key, kid, set_to={}) if algorithm == "ES256" else None}
    code = code_of(certificate_claims(idx=None), key, kid, algorithm=algorithm)

    verdict = verify(code, trust=trust, status_lists=lists, now=NOW)

    assert verdict.status is Status.VALID, verdict
    assert verdict.claims.certificate["h"] == "西湖食品有限公司"


@pytest.mark.parametrize("algorithm", ["ES256", "PS256", "EdDSA"])
def test_an_x509_issuer_is_trusted_under_the_eu_key_id(algorithm):
    key = private_key(algorithm)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Another issuer")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(dt.datetime(2020, 1, 1)).not_valid_after(dt.datetime(2040, 1, 1))
                   .sign(key, None if algorithm == "EdDSA" else hashes.SHA256()))
    kid = kid_of_certificate(certificate)
    code = code_of(certificate_claims(idx=None), key, kid, algorithm=algorithm)

    assert verify(code, trust=TrustList.from_x509([certificate]), now=NOW).status is Status.VALID
    assert verify(code, trust=TrustList(), now=NOW).reason == "unknown_key"


def test_the_protected_key_id_wins_over_the_unprotected_one(issuer):
    key, kid, trust = issuer
    other = private_key("ES256")
    other_kid = kid_of_public_key(other.public_key())
    # signed by the trusted key, but the protected header names another key: the unprotected kid is not read
    cose = cbor2.loads(sign(certificate_claims(idx=None), key, kid=other_kid))
    cose.value[1][4] = kid
    verdict = verify(envelope_encode(cbor2.dumps(cose)), trust=trust, now=NOW)
    assert (verdict.status, verdict.reason) == (Status.INVALID, "unknown_key")
    # a kid only in the unprotected header is used when the protected one has none
    code = code_of(certificate_claims(idx=None), key, kid, protected_kid=False)
    assert verify(code, trust=trust, now=NOW).status is Status.VALID


def test_times_against_the_validation_clock(issuer):
    key, kid, trust = issuer
    code = code_of(certificate_claims(idx=None, iat=NOW - 10, exp=NOW + 10), key, kid)
    assert verify(code, trust=trust, now=NOW).status is Status.VALID
    assert verify(code, trust=trust, now=NOW + 10).status is Status.EXPIRED
    assert verify(code, trust=trust, now=NOW - 3600).reason == "not_yet_valid"
    later = code_of({**certificate_claims(idx=None), 5: NOW + 86400}, key, kid)
    assert (verify(later, trust=trust, now=NOW).status, verify(later, trust=trust, now=NOW).reason) == (
        Status.INVALID, "not_yet_valid")
    assert verify(later, trust=trust, now=NOW + 86400 - 60).status is Status.VALID  # the signer's clock may lead
    assert verify(code, trust=trust, now=dt.datetime.fromtimestamp(NOW, dt.UTC)).status is Status.VALID


@pytest.mark.parametrize(("value", "status"), [(StatusValue.VALID, Status.VALID), (StatusValue.INVALID, Status.REVOKED),
                                               (StatusValue.SUSPENDED, Status.SUSPENDED),
                                               (StatusValue.SUPERSEDED, Status.SUPERSEDED)])
def test_the_status_list_decides(issuer, value, status):
    key, kid, trust = issuer
    lists = {LIST_URI: status_list(key, kid, set_to={7: value, 8: StatusValue.INVALID})}
    verdict = verify(code_of(certificate_claims(idx=7), key, kid), trust=trust, status_lists=lists, now=NOW)
    assert verdict.status is status
    # a list verified once serves many codes
    token = StatusListToken.verify(lists[LIST_URI], trust, uri=LIST_URI, now=NOW)
    assert verify(code_of(certificate_claims(idx=7), key, kid), trust=trust, status_lists={LIST_URI: token},
                  now=NOW).status is status


def test_a_status_list_that_cannot_be_had_never_says_valid(issuer):
    key, kid, trust = issuer
    code = code_of(certificate_claims(idx=7), key, kid)
    forger = private_key("ES256")

    def unreachable(uri):
        raise ConnectionError("no network")

    cases = {
        "none given": None,
        "not fetched": {},
        "fetch fails": unreachable,
        "fetcher has nothing": lambda uri: None,
        "expired list": {LIST_URI: status_list(key, kid, exp=NOW - 1)},
        "list for another uri": {LIST_URI: status_list(key, kid, uri="https://issuer.example/status/2")},
        "not a status list": {LIST_URI: status_list(key, kid, typ="application/cwt")},
        "forged list": {LIST_URI: status_list(forger, kid)},
        "garbage": {LIST_URI: b"\x00garbage"},
    }
    for name, lists in cases.items():
        verdict = verify(code, trust=trust, status_lists=lists, now=NOW)
        assert (verdict.status, verdict.reason) == (Status.UNKNOWN, "status_unavailable"), name
    # what the certificate itself says still decides: an expired one is EXPIRED without a list
    assert verify(code, trust=trust, status_lists={}, now=NOW + 86400).status is Status.EXPIRED


def test_tampering_and_foreign_codes_are_invalid(issuer):
    key, kid, trust = issuer
    cose = cbor2.loads(sign(certificate_claims(idx=None), key, kid=kid))
    claims = cbor2.loads(cose.value[2])
    claims[CLAIM_CERTIFICATE]["h"] = "另一家公司"
    cose.value[2] = cbor2.dumps(claims)
    assert verify(envelope_encode(cbor2.dumps(cose)), trust=trust, now=NOW).reason == "bad_signature"

    stranger = private_key("ES256")
    foreign = code_of(certificate_claims(idx=None), stranger, kid_of_public_key(stranger.public_key()))
    assert verify(foreign, trust=trust, now=NOW).reason == "unknown_key"
    # a stranger's key under our key id: the signature does not hold
    assert verify(code_of(certificate_claims(idx=None), stranger, kid), trust=trust, now=NOW).reason == "bad_signature"
    # another issuer's prefix (the EU's) is not taken for ours
    eu = "HC1:" + code_of(certificate_claims(idx=None), key, kid)[4:]
    assert verify(eu, trust=trust, now=NOW).reason == "wrong_prefix"
    assert verify(eu, trust=trust, now=NOW, prefix="HC1:").status is Status.VALID


def envelope(payload: bytes) -> str:
    return "OG1:" + base45.b45encode(zlib.compress(payload)).decode()


@pytest.mark.parametrize(("text", "reason"), [
    ("", "wrong_prefix"),
    ("OG1:", "not_zlib"),
    ("OG1:abc", "not_base45"),
    ("OG1:A", "not_base45"),
    ("OG1:" + base45.b45encode(b"not zlib at all").decode(), "not_zlib"),
    ("OG1:" + base45.b45encode(zlib.compress(bytes(range(200)))[:-8]).decode(), "not_zlib"),  # truncated
    ("OG1:" + "0" * 1_000_000, "too_large"),
    ("OG1:" + base45.b45encode(zlib.compress(b"\x00" * 1_000_000)).decode(), "too_large_inflated"),
    (envelope(b"\x81" * 10000 + b"\x00"), "not_cose"),  # deep nesting
    (envelope(b"\x5b" + (2 ** 62).to_bytes(8, "big") + b"abc"), "not_cose"),  # a length larger than the data
    (envelope(b"\x9b" + (2 ** 40).to_bytes(8, "big")), "not_cose"),
    (envelope(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b""]))), "unknown_key"),
    (envelope(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, b"", b""]))), "unknown_key"),
    (envelope(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -257, 4: b"k"}), {}, b"", b""]))),
     "unsupported_algorithm"),
    (envelope(cbor2.dumps(cbor2.CBORTag(18, [b"\xff", {}, b"", b""]))), "not_cose"),
    (envelope(cbor2.dumps(cbor2.CBORTag(98, [b"", {}, b"", []]))), "not_cose"),
    (envelope(cbor2.dumps([1, 2, 3])), "not_cose"),
])
def test_malformed_input_gets_its_reason_quickly(issuer, text, reason):
    _key, _kid, trust = issuer
    started = time.perf_counter()
    verdict = verify(text, trust=trust, now=NOW)
    assert (verdict.status, verdict.reason) == (Status.INVALID, reason), verdict
    assert verdict.claims is None
    assert time.perf_counter() - started < 0.5


def test_claims_of_the_wrong_shape(issuer):
    key, kid, trust = issuer
    for claims in ({6: "yesterday"}, {65535: {"status_list": {"idx": -1, "uri": LIST_URI}}}, {1: 5},
                   {CLAIM_CERTIFICATE: [1]}):
        cose = COSE.new().encode_and_sign(cbor2.dumps(claims), _signer(key, kid), protected={1: -7, 4: kid})
        assert verify(envelope_encode(cose), trust=trust, now=NOW).reason == "malformed_claims", claims
    cose = COSE.new().encode_and_sign(b"\xff", _signer(key, kid), protected={1: -7, 4: kid})
    assert verify(envelope_encode(cose), trust=trust, now=NOW).reason == "malformed_claims"


def _signer(key, kid):
    from cryptography.hazmat.primitives import serialization

    return COSEKey.from_pem(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()), alg="ES256", kid=kid)


def test_the_code_is_found_however_it_arrived(issuer):
    key, kid, trust = issuer
    code = code_of(certificate_claims(idx=None), key, kid)
    url = code_url(code, base="HTTPS://GRID.EXAMPLE/V/")
    assert " " not in url and "%" not in url.replace("%20", "").replace("%25", "").replace("%2F", "")
    assert set(url) <= set(base45.BASE45_CHARSET), "the URL stays in the QR code's alphanumeric alphabet"
    for text in (code, f"  {code}\n", url, url.lower().split("/v/")[0] + "/V/" + url.split("/V/")[1],
                 "https://grid.example/verify/?code=" + __import__("urllib.parse").parse.quote(code)):
        assert code_from_text(text) == code, text
        assert verify(text, trust=trust, now=NOW).status is Status.VALID


def test_status_bits_pack_as_the_draft_says():
    bits = StatusBits(12, 2)
    for index, value in {0: 1, 1: 2, 2: 0, 3: 3, 4: 1, 11: 3}.items():
        bits[index] = value
    # the draft's example packs index 0 into the lowest bits of byte 0
    assert bytes(bits.data) == bytes([0b11001001, 0b00000001, 0b11000000])
    assert [StatusBits(12, 2, bits.data)[i] for i in range(12)] == [1, 2, 0, 3, 1, 0, 0, 0, 0, 0, 0, 3]
    with pytest.raises(ValueError):
        bits[0] = 4


def test_the_kit_runs_without_django():
    import subprocess
    import sys

    script = ("import sys; sys.modules['django'] = None\n"
              "import certkit\n"
              "print(sorted(m for m, v in sys.modules.items() if v is not None and m.split('.')[0] in {'django', 'core', 'api', 'approvals'}))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
