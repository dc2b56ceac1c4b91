"""Login throttling that cannot be sidestepped and cannot be turned against the account's owner.

* The address is the peer's, or the right-most forwarded address not in ``TRUSTED_PROXIES`` when the peer is a
  trusted proxy: rotating ``X-Forwarded-For`` neither escapes the count nor forges the audited address.
* Failures count per account (a username and a phone number are one account) and per address.
* A phone that has logged in before holds a device token: a locked account still lets that phone in with the
  right password (it has its own, separate limit), so a stranger's guesses do not lock the owner out.
"""

from __future__ import annotations

import pytest

from api.context import client_ip_from_scope_or_meta
from core.models import AuditEntry
from tests.conftest import PASSWORD

LOGIN = """mutation($u: String!, $p: String!, $d: String) {
  login(input: {username: $u, password: $p, deviceToken: $d}) {
    errors { code } accessToken deviceToken retryAfterSeconds
  }
}"""


def login(gql, username, password=PASSWORD, *, device=None, address="10.9.0.1", forwarded=None):
    headers = {"REMOTE_ADDR": address}
    if forwarded:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    response = gql(LOGIN, {"u": username, "p": password, "d": device}, headers=headers)
    assert response.errors == [], response.body
    return response.data["login"]


def code(payload) -> str | None:
    return payload["errors"][0]["code"] if payload["errors"] else None


def test_rotating_x_forwarded_for_from_an_untrusted_peer_is_still_throttled(gql, users, settings):
    settings.LOGIN_FAILURE_LIMIT = 2  # per address: 2 x 4 = 8 failures
    for n in range(8):
        assert code(login(gql, f"guess{n}", "wrong", address="127.0.0.1", forwarded=f"203.0.113.{n}")) == (
            "invalid_credentials")
    assert code(login(gql, "worker", address="127.0.0.1", forwarded="203.0.113.99")) == "throttled"
    audited = set(AuditEntry.objects.filter(action="login").values_list("client_ip", flat=True))
    assert audited == {"127.0.0.1"}  # the forged addresses were never recorded


@pytest.mark.parametrize("peer,forwarded,expected", [
    ("10.0.0.1", "198.51.100.7, 203.0.113.5", "203.0.113.5"),  # the right-most hop the proxy saw
    ("10.0.0.1", "198.51.100.7, 203.0.113.5, 10.0.0.2", "203.0.113.5"),  # through two trusted proxies
    ("10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),  # every hop trusted: the left-most
    ("10.0.0.1", "unknown", "10.0.0.1"),  # garbage is not an address: the proxy's own view counts
    ("10.0.0.1", "198.51.100.7, nonsense, 203.0.113.5", "203.0.113.5"),
    ("10.0.0.1", "[2001:db8::1]:4711", "2001:db8::1"),
    ("10.0.0.1", "203.0.113.5:4711", "203.0.113.5"),
    ("192.0.2.1", "203.0.113.5", "192.0.2.1"),  # the peer is no trusted proxy: its header is ignored
    ("127.0.0.1", "203.0.113.5", "127.0.0.1"),  # not even from loopback
    (None, "203.0.113.5", None),
])
def test_the_client_address_trusts_only_configured_proxies(settings, peer, forwarded, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip_from_scope_or_meta(forwarded_for=forwarded, remote_addr=peer) == expected


def test_nothing_is_trusted_by_default(settings):
    assert settings.TRUSTED_PROXIES == []
    assert client_ip_from_scope_or_meta(forwarded_for="203.0.113.5", remote_addr="127.0.0.1") == "127.0.0.1"


def test_behind_a_trusted_proxy_the_real_address_is_audited_and_counted(gql, users, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    settings.LOGIN_FAILURE_LIMIT = 1  # per address: 4 failures
    for n in range(4):
        login(gql, f"guess{n}", "wrong", address="10.0.0.1", forwarded=f"198.51.100.{n}, 203.0.113.5")
    assert code(login(gql, "worker2", address="10.0.0.1", forwarded="203.0.113.5")) == "throttled"
    assert code(login(gql, "worker2", address="10.0.0.1", forwarded="203.0.113.6")) is None  # another client
    assert set(AuditEntry.objects.filter(action="login", result="failed").values_list("client_ip", flat=True)) == {
        "203.0.113.5"}


def test_a_username_and_its_phone_number_are_one_account(gql, users, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    login(gql, "worker", "wrong", address="10.9.0.1")
    login(gql, "13900000001", "wrong", address="10.9.0.2")
    login(gql, " worker ", "wrong", address="10.9.0.3")
    throttled = login(gql, "13900000001", address="10.9.0.4")
    assert code(throttled) == "throttled" and throttled["accessToken"] is None
    assert code(login(gql, "worker2", address="10.9.0.4")) is None  # another account is not affected


def test_a_phone_that_logged_in_before_gets_in_while_strangers_lock_its_account(gql, users, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    owner = login(gql, "worker", address="10.9.1.1")
    assert code(owner) is None and owner["deviceToken"]
    for n in range(5):  # a stranger guesses from many addresses
        login(gql, "worker", "wrong", address=f"10.9.2.{n}")
    assert code(login(gql, "worker", address="10.9.3.1")) == "throttled"  # the right password, no proof
    again = login(gql, "worker", device=owner["deviceToken"], address="10.9.4.1")  # the owner, on a new network
    assert code(again) is None and again["accessToken"] and again["deviceToken"]


def test_a_device_token_has_a_limit_of_its_own_and_is_good_for_its_account_only(gql, users, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    device = login(gql, "worker")["deviceToken"]
    for _ in range(3):
        assert code(login(gql, "worker", "wrong", device=device)) == "invalid_credentials"
    assert code(login(gql, "worker", device=device)) == "throttled"  # guessing with a stolen token is capped too
    other = login(gql, "worker2", address="10.9.5.1")["deviceToken"]
    for n in range(3):
        login(gql, "worker2", "wrong", address=f"10.9.6.{n}")
    assert code(login(gql, "worker2", device=device, address="10.9.7.1")) == "throttled"  # worker's token
    assert code(login(gql, "worker2", device=other, address="10.9.7.1")) is None
    assert code(login(gql, "worker2", device="forged", address="10.9.7.2")) == "throttled"


def test_an_unknown_name_is_throttled_like_a_known_one(gql, users, settings):
    """Otherwise who gets throttled would tell which accounts exist."""
    settings.LOGIN_FAILURE_LIMIT = 2
    for name in ("worker", "nobody"):
        for n in range(2):
            login(gql, name, "wrong", address=f"10.9.8.{n}")
        assert code(login(gql, name, "wrong", address="10.9.9.9")) == "throttled"
