"""Two refreshes of one refresh token by the same client (a phone's parallel requests, a retry after a lost
answer) get the same new pair within ``REFRESH_TOKEN_REUSE_GRACE_SECONDS``; a replay by another client, or
after the window, is still reuse and ends the login."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F

from accounts.models import AuthToken
from accounts.services import AuthError, token_refresh, user_login
from tests.conftest import PASSWORD

REFRESH = """mutation($t: String!) { refreshToken(refreshToken: $t) { errors { code } accessToken refreshToken } }"""
ME = "{ me { username } }"
PHONE = {"HTTP_USER_AGENT": "OneGrid/3.1 (Android 14)", "REMOTE_ADDR": "10.20.0.5"}


def refresh(gql, token, headers=PHONE):
    return gql(REFRESH, {"t": token}, headers=headers).data["refreshToken"]


def test_the_same_client_refreshing_twice_gets_the_same_pair_and_keeps_its_login(gql, users):
    pair = user_login(identifier="worker", password=PASSWORD, client_ip="10.20.0.5",
                      user_agent=PHONE["HTTP_USER_AGENT"])
    first = refresh(gql, pair.refresh_token)
    second = refresh(gql, pair.refresh_token)
    assert first["errors"] == [] and second == first
    assert gql(ME, token=second["accessToken"]).data == {"me": {"username": "worker"}}
    third = refresh(gql, second["refreshToken"])
    assert third["errors"] == [] and third["refreshToken"] != second["refreshToken"]
    assert AuthToken.objects.filter(kind="refresh", revoked_at__isnull=True).count() == 1


def test_another_client_replaying_within_the_window_ends_the_login(gql, users):
    pair = user_login(identifier="worker", password=PASSWORD, client_ip="10.20.0.5",
                      user_agent=PHONE["HTTP_USER_AGENT"])
    mine = refresh(gql, pair.refresh_token)
    thief = refresh(gql, pair.refresh_token, headers={"HTTP_USER_AGENT": "curl/8.5", "REMOTE_ADDR": "198.51.100.9"})
    assert thief["errors"] == [{"code": "token_reused"}] and thief["accessToken"] is None
    assert gql(ME, token=mine["accessToken"]).error_codes == ["token_revoked"]


def test_a_replay_after_the_window_ends_the_login(gql, users, settings):
    pair = user_login(identifier="worker", password=PASSWORD, client_ip="10.20.0.5",
                      user_agent=PHONE["HTTP_USER_AGENT"])
    mine = refresh(gql, pair.refresh_token)
    AuthToken.objects.filter(revoked_at__isnull=False).update(
        revoked_at=F("revoked_at") - timedelta(seconds=settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS + 1))
    assert refresh(gql, pair.refresh_token)["errors"] == [{"code": "token_reused"}]
    assert gql(ME, token=mine["accessToken"]).error_codes == ["token_revoked"]


def test_a_replay_after_logout_is_not_honoured(gql, users):
    pair = user_login(identifier="worker", password=PASSWORD, client_ip="10.20.0.5",
                      user_agent=PHONE["HTTP_USER_AGENT"])
    mine = refresh(gql, pair.refresh_token)
    gql("mutation { logout { errors { code } } }", token=mine["accessToken"])
    assert refresh(gql, pair.refresh_token)["errors"][0]["code"] in {"token_reused", "token_revoked"}
    assert not AuthToken.objects.filter(revoked_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_parallel_refreshes_both_succeed_with_one_pair(users):
    pair = user_login(identifier="worker", password=PASSWORD, client_ip="10.20.0.5", user_agent="phone")
    start = threading.Barrier(2)
    answers, failures = [], []

    def race():
        try:
            start.wait()
            answers.append(token_refresh(refresh_token=pair.refresh_token, client_ip="10.20.0.5", user_agent="phone"))
        except AuthError as error:
            failures.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert len(answers) == 2 and answers[0].refresh_token == answers[1].refresh_token
    assert answers[0].access_token == answers[1].access_token
    assert AuthToken.objects.filter(kind="refresh", revoked_at__isnull=True).count() == 1
