"""Login, refresh, logout, throttling, token checks and `manage.py issue_token`, through the real schema."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuthToken
from core.models import AuditEntry
from tests.conftest import PASSWORD

LOGIN = """mutation($u: String!, $p: String!) {
  login(input: {username: $u, password: $p}) {
    errors { code message } accessToken refreshToken retryAfterSeconds user { username role }
  }
}"""
REFRESH = """mutation($t: String!) { refreshToken(refreshToken: $t) { errors { code } accessToken refreshToken } }"""
ME = "{ me { username role grids { code } } }"


def login(gql, username, password=PASSWORD, **kwargs):
    return gql(LOGIN, {"u": username, "p": password}, **kwargs).data["login"]


def test_login_by_username_then_me_shows_the_worker_and_their_grid(gql, users, district):
    payload = login(gql, "worker")
    assert payload["errors"] == []
    assert payload["user"] == {"username": "worker", "role": "GRID_WORKER"}
    me = gql(ME, token=payload["accessToken"])
    assert me.data["me"] == {"username": "worker", "role": "GRID_WORKER", "grids": [{"code": district.grid.code}]}


def test_login_by_phone(gql, users):
    payload = login(gql, "13900000002")
    assert payload["errors"] == [] and payload["user"]["username"] == "worker2"


@pytest.mark.parametrize("username,password", [("worker", "wrong"), ("nobody", PASSWORD)])
def test_wrong_password_and_unknown_user_get_the_same_typed_error(gql, users, username, password):
    payload = login(gql, username, password, language="en")
    assert payload["accessToken"] is None
    assert payload["errors"] == [{"code": "invalid_credentials", "message": "Wrong username, phone number or password."}]


def test_repeated_failures_throttle_even_the_right_password(gql, users, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        assert login(gql, "worker", "wrong")["errors"][0]["code"] == "invalid_credentials"
    payload = login(gql, "worker")
    assert payload["errors"][0]["code"] == "throttled"
    assert 0 < payload["retryAfterSeconds"] <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert payload["accessToken"] is None
    # another account from another address is not affected
    assert login(gql, "worker2", headers={"REMOTE_ADDR": "10.0.0.9"})["errors"] == []


def test_throttle_counts_failures_per_address_across_accounts(gql, users, settings):
    settings.LOGIN_FAILURE_LIMIT = 2  # per address: 2 x 4 = 8 failures
    for n in range(8):
        login(gql, f"guess{n}", "wrong", headers={"REMOTE_ADDR": "10.0.0.7"})
    assert login(gql, "worker", headers={"REMOTE_ADDR": "10.0.0.7"})["errors"][0]["code"] == "throttled"
    assert login(gql, "worker", headers={"REMOTE_ADDR": "10.0.0.8"})["errors"] == []


def test_every_login_attempt_is_audited_with_its_address(gql, users):
    login(gql, "worker", "wrong", headers={"REMOTE_ADDR": "10.1.2.3"})
    login(gql, "worker", headers={"REMOTE_ADDR": "10.1.2.3"})
    rows = list(AuditEntry.objects.filter(action="login").order_by("id").values_list("result", "actor_label", "client_ip"))
    assert rows == [("failed", "worker", "10.1.2.3"), ("ok", "worker", "10.1.2.3")]


def test_refresh_rotates_and_a_replayed_refresh_token_revokes_the_login(gql, users):
    first = login(gql, "worker")
    second = gql(REFRESH, {"t": first["refreshToken"]}).data["refreshToken"]
    assert second["errors"] == [] and second["accessToken"] != first["accessToken"]
    assert gql(ME, token=second["accessToken"]).data["me"]["username"] == "worker"
    # the old refresh token comes back after the grace window (test_refresh_grace.py): a replay; every token of
    # that login dies
    AuthToken.objects.filter(revoked_at__isnull=False).update(revoked_at=timezone.now() - timedelta(minutes=5))
    replay = gql(REFRESH, {"t": first["refreshToken"]}).data["refreshToken"]
    assert replay["errors"] == [{"code": "token_reused"}]
    refused = gql(ME, token=second["accessToken"])
    assert refused.status == 401 and refused.error_codes == ["token_revoked"]
    assert gql(REFRESH, {"t": second["refreshToken"]}).data["refreshToken"]["errors"][0]["code"] in {
        "token_revoked", "token_reused"}


def test_an_access_token_is_not_a_refresh_token(gql, users):
    first = login(gql, "worker")
    assert gql(REFRESH, {"t": first["accessToken"]}).data["refreshToken"]["errors"] == [{"code": "token_invalid"}]


def test_logout_revokes_the_token_for_the_next_request(gql, users):
    pair = login(gql, "worker")
    out = gql("mutation { logout { errors { code } revokedTokens } }", token=pair["accessToken"])
    assert out.data["logout"] == {"errors": [], "revokedTokens": 2}
    again = gql(ME, token=pair["accessToken"])
    assert again.status == 401 and again.error_codes == ["token_revoked"] and again.data is None
    assert gql(REFRESH, {"t": pair["refreshToken"]}).data["refreshToken"]["errors"][0]["code"] in {
        "token_revoked", "token_reused"}


def test_expired_forged_and_malformed_tokens_are_refused_before_any_resolver(gql, users, token_for):
    token = token_for(users["worker"])
    AuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = gql(ME, token=token, language="en")
    assert expired.status == 401 and expired.error_codes == ["token_expired"]
    assert "expired" in expired.errors[0]["message"]
    forged = gql(ME, token="oga_" + "A" * 43)
    assert forged.status == 401 and forged.error_codes == ["token_invalid"]
    basic = gql(ME, headers={"HTTP_AUTHORIZATION": "Basic d29ya2VyOnB3"})
    assert basic.status == 401 and basic.error_codes == ["token_invalid"]


def test_deactivated_user_token_stops_working(gql, users, token_for):
    token = token_for(users["worker"])
    users["worker"].is_active = False
    users["worker"].save()
    assert gql(ME, token=token).error_codes == ["token_revoked"]


def test_no_token_means_unauthenticated_error_not_data(gql, users):
    response = gql(ME)
    assert response.status == 200 and response.data is None
    assert response.error_codes == ["unauthenticated"]


def test_issue_token_command_prints_a_working_token(gql, users):
    out = io.StringIO()
    call_command("issue_token", "operator", stdout=out)
    token = out.getvalue().strip()
    assert gql(ME, token=token).data["me"]["username"] == "operator"
    assert AuditEntry.objects.filter(action="token.issue", actor_label="operator").exists()


def test_only_the_digest_of_a_token_is_stored(gql, users):
    pair = login(gql, "worker")
    assert not AuthToken.objects.filter(digest__contains=pair["accessToken"][4:20]).exists()
    assert AuthToken.objects.filter(user=users["worker"]).count() == 2
