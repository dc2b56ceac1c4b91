"""Certificates as the bureau and anyone scanning them rely on: identity numbers checked and kept sealed, the
catalogue, issuing, signing verified by an independent COSE library, status changes seen online at once and
in the published status list, key rotation and withdrawal, QR codes a real decoder reads."""

from __future__ import annotations

import datetime as dt
import io
import zlib

import base45
import cbor2
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from approvals import identity
from approvals.codes import certificate_url, certificate_verify
from approvals.keys import signing_key_create, signing_key_withdraw
from approvals.models import Certificate, CertificateStatus, Holder, LicenceKind
from approvals.services import (
    certificate_issue,
    certificate_reinstate,
    certificate_renew,
    certificate_revoke,
    certificate_suspend,
    certificates_expire,
    holder_find,
    holder_register,
)
from certkit import Status, StatusListToken, TrustList, verify
from core.models import Change
from core.workflow import WorkflowDenied, WorkflowError
from tests.approvals.conftest import SCHOOL_FIELDS, credit_code, resident_id

pytestmark = pytest.mark.django_db


# --- identity numbers -------------------------------------------------------------------------------------------

def test_resident_id_check_digits_of_gb_11643():
    assert identity.resident_id_clean("11010519491231002x") == "11010519491231002X"  # the standard's own example
    for wrong in ("110105194912310021", "11010519491331002X", "1101051949123100", "ABCDEFGHIJKLMNOPQR",
                  "１１０１０５１９４９１２３１００２X", "21010530001231002X"):
        with pytest.raises(ValidationError) as raised:
            identity.resident_id_clean(wrong)
        assert raised.value.code == "invalid_id_number", wrong


def test_credit_code_check_characters_of_gb_32100():
    assert identity.credit_code_clean("91350100m000100y43") == "91350100M000100Y43"  # a published code
    for wrong in ("91350100M000100Y44", "91350100M000100Y4", "91350100M000100I43", "9135010OM000100Y43"):
        with pytest.raises(ValidationError) as raised:
            identity.credit_code_clean(wrong)
        assert raised.value.code == "invalid_credit_code", wrong


def test_identity_numbers_are_matched_masked_and_sealed_never_stored_plain(approvals):
    person = approvals["person"]
    number = resident_id()
    row = Holder.objects.filter(pk=person.pk).values().get()
    assert number not in str(row)
    assert person.id_masked == number[:3] + "*" * 11 + number[-4:]
    assert identity.identity_unseal(person.id_sealed) == number
    assert holder_find(kind="person", number=number.lower()) == person
    assert holder_find(kind="person", number=resident_id("37020219850312124")) is None
    # registering again finds the same holder
    assert holder_register(kind="person", number=number, name="刘洋").pk == person.pk


# --- the catalogue --------------------------------------------------------------------------------------------

def test_the_catalogue_has_33_kinds_24_electronic_each_with_a_department_and_typed_fields(catalogue):
    kinds = list(LicenceKind.objects.select_related("department"))
    assert len(kinds) == 33
    assert sum(kind.electronic for kind in kinds) == 24
    assert all(kind.department.name and kind.fields and kind.number_prefix for kind in kinds)
    names = {kind.code: kind.name for kind in kinds}
    assert names["private_non_enterprise"] == "民办非企业单位登记证书"
    assert names["geographical_indication"] == "地理标志专用标志使用核准"


def test_fields_are_typed_and_validated(approvals):
    kind = approvals["kind"]
    with pytest.raises(ValidationError) as raised:
        certificate_issue(kind=kind, holder=approvals["school"], actor=approvals["staff"],
                          fields={**SCHOOL_FIELDS, "funds": "fifty", "scope": "", "extra": "x"})
    assert set(raised.value.message_dict) == {"funds", "scope", "extra"}
    certificate = certificate_issue(kind=kind, holder=approvals["school"], actor=approvals["staff"],
                                    fields={**SCHOOL_FIELDS, "funds": "50.5"})
    assert certificate.fields["funds"] == "50.50"


def test_only_the_issuing_department_issues_and_only_to_the_right_holder(approvals, users):
    with pytest.raises(PermissionDenied):
        certificate_issue(kind=approvals["kind"], holder=approvals["school"], fields=SCHOOL_FIELDS,
                          actor=users["urban"])
    with pytest.raises(ValidationError) as raised:
        certificate_issue(kind=approvals["kind"], holder=approvals["person"], fields=SCHOOL_FIELDS,
                          actor=approvals["staff"])
    assert raised.value.message_dict.keys() == {"holder"}


# --- signing ---------------------------------------------------------------------------------------------------

def _pycose_verifies(code: str, jwk: dict) -> bool:
    """An independent implementation (pycose) checks the signature of the COSE_Sign1 inside ``code``."""
    import base64

    from pycose.keys import EC2Key
    from pycose.keys.curves import P256
    from pycose.messages import Sign1Message

    cose = zlib.decompress(base45.b45decode(code[4:]))
    message = Sign1Message.decode(cose)

    def b64(text):
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    message.key = EC2Key(crv=P256, x=b64(jwk["x"]), y=b64(jwk["y"]))
    try:
        return message.verify_signature()
    except Exception:
        return False


def test_an_independent_cose_library_verifies_the_certificate_and_no_tampered_variant(school_certificate):
    jwk = Client().get("/.well-known/jwks.json").json()["keys"][0]
    code = school_certificate.code
    assert code.startswith("OG1:")
    assert _pycose_verifies(code, jwk)

    message = cbor2.loads(zlib.decompress(base45.b45decode(code[4:])))
    claims = cbor2.loads(message.value[2])
    assert claims[7] == school_certificate.number.encode() and claims[-65537]["h"] == "青岛海韵培训学校"
    assert claims[65535]["status_list"]["idx"] == school_certificate.status_index

    def variant(edit) -> str:
        tampered = cbor2.loads(zlib.decompress(base45.b45decode(code[4:])))
        edit(tampered)
        return "OG1:" + base45.b45encode(zlib.compress(cbor2.dumps(tampered))).decode()

    def holder(m):
        c = cbor2.loads(m.value[2])
        c[-65537]["h"] = "另一所学校"
        m.value[2] = cbor2.dumps(c)

    def longer(m):
        c = cbor2.loads(m.value[2])
        c[4] += 365 * 86400
        m.value[2] = cbor2.dumps(c)

    def signature(m):
        m.value[3] = bytes([m.value[3][0] ^ 1]) + m.value[3][1:]

    def header(m):
        m.value[0] = cbor2.dumps({**cbor2.loads(m.value[0]), 1: -37})

    for edit in (holder, longer, signature, header):
        tampered = variant(edit)
        assert not _pycose_verifies(tampered, jwk), edit.__name__
        assert certificate_verify(tampered).status is Status.INVALID, edit.__name__


def test_status_changes_show_online_at_once_and_in_the_published_list(school_certificate, approvals):
    staff, code = approvals["staff"], school_certificate.code
    client = Client()
    trust = TrustList.from_jwks(client.get("/.well-known/jwks.json").json())

    def offline():
        uri = verify(code, trust=trust).claims.status_uri
        token = client.get("/status/" + uri.rsplit("/", 1)[1]).content
        return verify(code, trust=trust, status_lists={uri: token}).status

    assert certificate_verify(code).status is Status.VALID and offline() is Status.VALID
    certificate_suspend(actor=staff, certificate_id=school_certificate.pk, reason="消防检查整改")
    assert certificate_verify(code).status is Status.SUSPENDED and offline() is Status.SUSPENDED
    certificate_reinstate(actor=staff, certificate_id=school_certificate.pk)
    assert certificate_verify(code).status is Status.VALID and offline() is Status.VALID
    certificate_revoke(actor=staff, certificate_id=school_certificate.pk, reason="违规办学")
    assert certificate_verify(code).status is Status.REVOKED and offline() is Status.REVOKED

    history = list(school_certificate.history.values_list("action", "from_status", "to_status", "reason"))
    assert history == [("issue", "", "valid", ""), ("suspend", "valid", "suspended", "消防检查整改"),
                       ("reinstate", "suspended", "valid", ""), ("revoke", "valid", "revoked", "违规办学")]
    kinds = list(Change.objects.filter(object_type="approvals.certificate").values_list("kind", flat=True))
    assert kinds == ["certificate.issue", "certificate.suspend", "certificate.reinstate", "certificate.revoke"]
    with pytest.raises(WorkflowError):
        certificate_reinstate(actor=staff, certificate_id=school_certificate.pk)


def test_a_renewal_supersedes_and_the_old_code_says_so(school_certificate, approvals):
    renewal = certificate_renew(actor=approvals["staff"], certificate_id=school_certificate.pk,
                                fields={"funds": "80"})
    assert renewal.supersedes_id == school_certificate.pk and renewal.fields["funds"] == "80.00"
    assert certificate_verify(school_certificate.code).status is Status.SUPERSEDED
    assert certificate_verify(renewal.code).status is Status.VALID
    assert renewal.status_index != school_certificate.status_index or renewal.status_list_id != \
        school_certificate.status_list_id


def test_nobody_but_the_issuer_changes_a_status(school_certificate, users, approvals):
    # the holder and the auditor see it but may not revoke it (the system does, for an approved cancellation)
    for user in (users["business"], users["auditor"]):
        with pytest.raises(WorkflowDenied):
            certificate_revoke(actor=user, certificate_id=school_certificate.pk, reason="x")
    # another department's staff do not even find it
    with pytest.raises(WorkflowError) as raised:
        certificate_revoke(actor=users["urban"], certificate_id=school_certificate.pk, reason="x")
    assert raised.value.code == "not_found"
    with pytest.raises(WorkflowError) as raised:
        certificate_revoke(actor=approvals["staff"], certificate_id=school_certificate.pk, reason="  ")
    assert raised.value.code == "required"


def test_expiry_by_the_clock_and_by_the_system(approvals):
    started = timezone.now() - dt.timedelta(days=400)
    certificate = certificate_issue(kind=LicenceKind.objects.get(code="outdoor_advertising"), holder=approvals["school"],
                                    fields={"location": "香港中路 10 号", "area": "12", "medium": "墙面"},
                                    valid_from=started, now=started)
    assert certificate_verify(certificate.code).status is Status.EXPIRED
    assert certificates_expire() == 1
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.EXPIRED
    assert certificate_verify(certificate.code).reason == "expired"


def test_rotation_keeps_old_codes_valid_and_withdrawal_invalidates_them(school_certificate, approvals):
    old_kid = school_certificate.key.kid
    signing_key_create()  # rotate
    newer = certificate_issue(kind=approvals["kind"], holder=approvals["school"], fields=SCHOOL_FIELDS,
                              actor=approvals["staff"])
    assert newer.key.kid != old_kid
    published = {key["kid"] for key in Client().get("/.well-known/jwks.json").json()["keys"]}
    assert published == {old_kid, newer.key.kid}
    assert certificate_verify(school_certificate.code).status is Status.VALID

    signing_key_withdraw(kid=old_kid, reason="私钥泄露")
    jwks = Client().get("/.well-known/jwks.json").json()
    assert {key["kid"] for key in jwks["keys"]} == {newer.key.kid}
    found = certificate_verify(school_certificate.code)
    assert (found.status, found.reason) == (Status.INVALID, "withdrawn_key")
    assert verify(school_certificate.code, trust=TrustList.from_jwks(jwks)).reason == "unknown_key"  # offline
    assert certificate_verify(newer.code).status is Status.VALID


def test_the_qr_code_decodes_with_a_real_decoder_and_verifies(school_certificate):
    import zxingcpp
    from PIL import Image

    response = Client().get("/verify/qr.png", {"code": school_certificate.code})
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.content)))
    assert len(results) == 1
    text = results[0].text
    assert text == certificate_url(school_certificate.code)
    assert certificate_verify(text).status is Status.VALID
    # the page the camera app opens
    page = Client().get(text.split("8000", 1)[1] if "8000" in text else text)
    assert page.status_code == 200 and 'data-status="VALID"' in page.content.decode()
    svg = Client().get("/verify/qr.svg", {"code": school_certificate.code})
    assert svg.status_code == 200 and b"<svg" in svg.content


def test_status_list_is_large_signed_and_cacheable(school_certificate):
    client = Client()
    trust = TrustList.from_jwks(client.get("/.well-known/jwks.json").json())
    response = client.get("/status/1")
    assert response["Content-Type"] == "application/statuslist+cwt"
    assert "max-age=300" in response["Cache-Control"]
    token = StatusListToken.verify(response.content, trust, uri="http://127.0.0.1:8000/status/1")
    assert token.statuses.size >= 131072 and token.statuses.bits == 2
    assert client.get("/status/99").status_code == 404


@pytest.mark.parametrize("text", [
    "", "OG1:", "OG1:abc", "HC1:NCFOXN", "x" * 1_000_000, "OG1:" + "0" * 5000, "\x00\x01", "https://evil.example/V/",
    "OG1:" + base45.b45encode(zlib.compress(b"\x81" * 5000)).decode(), "%", "OG1:%25%20",
])
def test_bad_codes_get_a_verdict_never_an_error(db, text):
    client = Client()
    page = client.get("/verify/", {"code": text})
    assert page.status_code == 200
    assert 'data-status="INVALID"' in page.content.decode() or not text.strip()
    answer = client.get("/verify.json", {"code": text})
    assert answer.status_code == 200 and answer.json()["status"] == "INVALID" and answer.json()["certificate"] is None
    posted = client.post("/verify.json", text.encode("utf-8", "surrogatepass"), content_type="text/plain")
    assert posted.status_code == 200 and posted.json()["status"] == "INVALID"
    assert client.get("/V/" + text[:3000].replace("\x00", "")).status_code in (200, 404)


def test_the_page_and_json_speak_chinese_and_english(school_certificate, approvals):
    client = Client()
    zh = client.get("/verify/", {"code": school_certificate.code}).content.decode()
    assert "有效" in zh and "民办非企业单位登记证书" in zh and "青岛海韵培训学校" in zh
    en = client.get("/verify/", {"code": school_certificate.code, "lang": "en"}).content.decode()
    assert "Valid" in en and "Registration certificate of a private non-enterprise unit" in en
    assert resident_id() not in zh and credit_code() not in zh  # masked
    certificate_revoke(actor=approvals["staff"], certificate_id=school_certificate.pk, reason="违规办学")
    revoked = client.get("/verify.json", {"code": school_certificate.code}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert revoked == {"status": "REVOKED", "reason": "revoked", "certificate": None,
                       "message": "The issuing department has revoked this certificate."}
    zh = client.get("/verify/", {"code": school_certificate.code}).content.decode()
    assert "已吊销" in zh and "青岛海韵培训学校" not in zh  # facts only while valid


def test_the_printout_renders_in_both_languages(school_certificate):
    client = Client()
    for fmt, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF")):
        response = client.get(f"/verify/certificate.{fmt}", {"code": school_certificate.code})
        assert response.status_code == 200 and response.content.startswith(magic)
    assert client.get("/verify/certificate.png", {"code": "OG1:x"}).status_code == 409


def test_a_certificate_only_the_issuer_database_lacks_is_invalid(school_certificate):
    code = school_certificate.code
    Certificate.objects.filter(pk=school_certificate.pk).update(number="OTHER")
    assert certificate_verify(code).reason == "unknown_certificate"


def test_the_key_command_rotates_and_withdraws(school_certificate):
    from io import StringIO

    from django.core.management import CommandError, call_command

    old = school_certificate.key.kid
    out = StringIO()
    call_command("certificate_keys", "rotate", stdout=out)
    assert "retired" in out.getvalue() and old in out.getvalue()
    with pytest.raises(CommandError):
        call_command("certificate_keys", "withdraw", f"--kid={old}", stdout=StringIO())  # no reason
    # --kid=: a key id may begin with "-" (base64url), which a bare argument cannot
    call_command("certificate_keys", "withdraw", f"--kid={old}", "--reason", "泄露", stdout=out)
    assert certificate_verify(school_certificate.code).reason == "withdrawn_key"


def test_a_key_id_beginning_with_a_dash_is_withdrawn_by_its_option(approvals):
    from io import StringIO

    from django.core.management import call_command

    from approvals.models import KeyState, SigningKey

    key = SigningKey.objects.create(kid="-f7In7uzwPA", public_jwk={"kty": "EC", "kid": "-f7In7uzwPA"})
    call_command("certificate_keys", "withdraw", "--kid=-f7In7uzwPA", "--reason", "泄露", stdout=StringIO())
    key.refresh_from_db()
    assert key.state == KeyState.WITHDRAWN
