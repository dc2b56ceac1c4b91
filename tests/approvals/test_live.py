"""A certificate against the running server, as the people and programs that check it meet it: the offline kit
syncing the issuer's JWK Set and status list over HTTP, and a phone's browser (Debian's chromium, driven by
Selenium) opening the URL a real QR decoder read from the code, in Chinese and in English, before and after the
issuing department revokes it through the API."""

from __future__ import annotations

import io
import os
import shutil

import httpx
import pytest
from django.conf import settings as django_settings
from strawberry.relay import to_base64

from certkit import Status, TrustList, verify
from tests.approvals.conftest import SCHOOL_FIELDS
from tests.stack import stack_running

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
#: A phone's screen (an iPhone 14's CSS pixels).
PHONE = {"width": 390, "height": 844, "pixelRatio": 3.0}

REVOKE = """mutation($input: CertificateChangeInput!) { changeCertificate(input: $input) {
  errors { code } certificate { status statusReason } } }"""


@pytest.fixture
def stack(tmp_path, transactional_db, settings):
    """The server, publishing under its own address, signing with the test's keys."""
    running = stack_running(tmp_path)
    stack = next(running)
    settings.PUBLIC_URL = stack.base
    stack.asgi.env.update(PUBLIC_URL=stack.base, CERTIFICATE_KEY_DIR=str(django_settings.CERTIFICATE_KEY_DIR))
    yield stack
    running.close()


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromium-driver must be installed (.ci/run installs them)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": PHONE,
        "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/126.0 Mobile Safari/537.36"})
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})  # a phone set to Chinese
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _page(driver) -> dict:
    """What the reader sees: the verdict, the page's language, the facts, and whether it fits the screen."""
    return driver.execute_script("""
        const verdict = document.getElementById('verdict'), facts = document.getElementById('facts');
        return {status: verdict && verdict.dataset.status, headline: verdict && verdict.querySelector('.status').innerText,
                lang: document.documentElement.lang, facts: facts ? facts.innerText : null,
                width: window.innerWidth, overflow: document.documentElement.scrollWidth > window.innerWidth};""")


def _issue(approvals) -> tuple[int, str]:
    from approvals.services import certificate_issue

    certificate = certificate_issue(kind=approvals["kind"], holder=approvals["school"], fields=SCHOOL_FIELDS,
                                    actor=approvals["staff"])
    return certificate.pk, certificate.code


def _offline(code: str) -> Status:
    """What a counter app embedding ``certkit`` says, having synced what the server publishes over HTTP."""
    trust = TrustList.from_jwks(httpx.get(f"{django_settings.PUBLIC_URL}/.well-known/jwks.json", timeout=10).json())
    uri = verify(code, trust=trust).claims.status_uri
    token = httpx.get(uri, timeout=10)
    assert token.headers["content-type"] == "application/statuslist+cwt"
    return verify(code, trust=trust, status_lists={uri: token.content}).status


def test_a_phone_opens_the_scanned_code_and_sees_a_revocation_on_the_next_load(stack, browser, approvals,
                                                                                      token_for):
    import zxingcpp
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    pk, code = _issue(approvals)
    staff_token = token_for(approvals["staff"])
    stack.start_asgi()

    png = httpx.get(f"{stack.base}/verify/qr.png", params={"code": code}, timeout=20)
    assert png.status_code == 200
    (read,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    url = read.text
    assert url.startswith(stack.base.upper() + "/V/")  # upper case: the QR's compact alphanumeric mode
    assert _offline(code) is Status.VALID

    browser.get(url)
    seen = _page(browser)
    assert seen["status"] == "VALID" and seen["headline"] == "有效" and seen["lang"] == "zh-hans"
    assert "青岛海韵培训学校" in seen["facts"] and "非学历文化教育培训" in seen["facts"]
    assert seen["width"] == PHONE["width"] and not seen["overflow"]

    browser.find_element(By.LINK_TEXT, "English").click()
    seen = _page(browser)
    assert seen["status"] == "VALID" and seen["headline"] == "Valid" and seen["lang"] == "en"
    assert "Registration certificate" in seen["facts"] and not seen["overflow"]
    english = browser.current_url

    revoked = stack.graphql(REVOKE, {"input": {"certificateId": to_base64("Certificate", pk), "action": "REVOKE",
                                               "reason": "违规办学"}}, token=staff_token)
    assert revoked["data"]["changeCertificate"] == {"errors": [], "certificate": {"status": "REVOKED",
                                                                                 "statusReason": "违规办学"}}

    browser.get(english)  # the next load
    seen = _page(browser)
    assert seen["status"] == "REVOKED" and seen["headline"] == "Revoked" and seen["facts"] is None
    browser.get(url)
    seen = _page(browser)
    assert seen["status"] == "REVOKED" and seen["headline"] == "已吊销" and seen["facts"] is None
    assert not seen["overflow"]
    assert _offline(code) is Status.REVOKED  # the status list is re-signed for the next sync

    # the same code pasted as text (a verifier app's share sheet, a chat message)
    browser.get(f"{stack.base}/verify/?lang=en")
    browser.find_element(By.ID, "code").send_keys(code)
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    WebDriverWait(browser, 20).until(lambda driver: driver.find_elements(By.ID, "verdict"))
    seen = _page(browser)
    assert seen["status"] == "REVOKED" and seen["headline"] == "Revoked" and seen["lang"] == "en"
