"""One reading of a bearer token (``accounts.services.bearer_authenticate``) behind ``/graphql/``, the exports and
the websocket: the same answer for the same credentials on each, and the same 401 challenge over HTTP."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from accounts.services import AuthError, bearer_authenticate, token_issue
from tests.api.test_websocket import close_code, open_socket

ME = "{ me { username } }"
EXPORT = "/exports/event-statistics.csv?groupBy=street"
FORGED = "oga_" + "A" * 43


@pytest.fixture
def token(users) -> str:
    return token_issue(user=users["worker"])[0]


@pytest.mark.parametrize("credentials", [None, "", "   ", 42, {"token": "x"}])
def test_no_credentials_are_anonymous_or_unauthenticated_when_required(db, credentials):
    user, token = bearer_authenticate(credentials, required=False)
    assert not user.is_authenticated and token is None
    with pytest.raises(AuthError) as refused:
        bearer_authenticate(credentials, required=True)
    assert refused.value.code == "unauthenticated"


@pytest.mark.parametrize("template,bare,code", [
    ("Bearer {token}", False, None),
    ("bearer   {token}  ", False, None),  # the scheme is case-insensitive, spaces around the token do not count
    ("{token}", True, None),  # the websocket's {"token": ...}
    ("{token}", False, "token_invalid"),  # a header needs its scheme
    ("Basic d29ya2VyOnB3", False, "token_invalid"),
    ("Basic d29ya2VyOnB3", True, "token_invalid"),
    ("Bearer", False, "token_invalid"),
    ("Bearer ", True, "token_invalid"),
    ("Bearer " + FORGED, False, "token_invalid"),
])
def test_a_bearer_value_names_its_token_or_is_token_invalid(users, token, template, bare, code):
    credentials = template.format(token=token)
    if code is None:
        user, row = bearer_authenticate(credentials, required=True, bare=bare)
        assert user == users["worker"] and row.user_id == user.pk
    else:
        with pytest.raises(AuthError) as refused:
            bearer_authenticate(credentials, required=True, bare=bare)
        assert refused.value.code == code


@pytest.mark.parametrize("header,graphql_code,export_code", [
    (None, None, "unauthenticated"),  # /graphql/ answers an anonymous request; an export needs a token
    ("Bearer " + FORGED, "token_invalid", "token_invalid"),
    ("Basic d29ya2VyOnB3", "token_invalid", "token_invalid"),
    ("Bearer", "token_invalid", "token_invalid"),
])
def test_graphql_and_the_exports_read_the_header_alike(db, header, graphql_code, export_code):
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    answer = Client().post("/graphql/", {"query": ME}, content_type="application/json", **headers)
    exported = Client().get(EXPORT, **headers)
    assert exported.status_code == 401 and exported.json()["errors"][0]["extensions"]["code"] == export_code
    assert exported["WWW-Authenticate"] == f'Bearer error="invalid_token", error_description="{export_code}"'
    codes = [error["extensions"]["code"] for error in answer.json()["errors"]]
    if graphql_code is None:  # a field refused, not the request
        assert answer.status_code == 200 and codes == ["unauthenticated"] and "WWW-Authenticate" not in answer
        return
    assert answer.status_code == 401 and codes == [graphql_code] and answer.json()["data"] is None
    assert answer["WWW-Authenticate"] == f'Bearer error="invalid_token", error_description="{graphql_code}"'


def test_a_valid_token_opens_graphql_and_the_exports(gql, users, token):
    assert gql(ME, token=token).data == {"me": {"username": "worker"}}
    assert Client().get(EXPORT, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("payload,code", [
    ({}, "unauthenticated"),
    ({"Authorization": "   "}, "unauthenticated"),
    ({"Authorization": 7}, "unauthenticated"),
    ({"Authorization": "Bearer " + FORGED}, "token_invalid"),
    ({"Authorization": "Basic d29ya2VyOnB3"}, "token_invalid"),
    ({"token": FORGED}, "token_invalid"),
])
async def test_the_websocket_closes_with_the_same_codes(users, payload, code):
    _connected, client = await open_socket()
    await client.ws.send_json_to({"type": "connection_init", "payload": payload})
    assert await close_code(client) == (4403, code)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key,scheme", [("Authorization", "Bearer "), ("authorization", "bearer "), ("token", "")])
async def test_the_websocket_takes_the_token_under_each_name(users, key, scheme):
    token = await database_sync_to_async(lambda: token_issue(user=users["worker"])[0])()
    _connected, client = await open_socket()
    assert (await client.init({key: scheme + token}))["type"] == "connection_ack"
    await client.ws.disconnect()
