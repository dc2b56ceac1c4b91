"""What a client gets wrong is a coded, translated error in production, never ``internal_error`` or a 500 page.

The ``production_errors`` fixture serves ``/graphql/`` with the schema production builds (unexpected errors
masked as ``internal_error``), so a mistake that is not coded shows here as it would to a phone.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client


@pytest.fixture
def production_errors(monkeypatch):
    """``/graphql/`` with production's error masking (the masking extension placed as production places it)."""
    from api.extensions import CodeKnownErrors, MaskUnexpectedErrors
    from api.schema import schema

    extensions = list(schema.extensions)
    if MaskUnexpectedErrors not in extensions:
        extensions.insert(extensions.index(CodeKnownErrors), MaskUnexpectedErrors)
    monkeypatch.setattr(schema, "extensions", extensions)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def post_raw(body: bytes, content_type: str = "application/json", **extra):
    response = Client().generic("POST", "/graphql/", body, content_type=content_type, **extra)
    return response.status_code, response["Content-Type"], json.loads(response.content)


def codes_of(body: dict) -> list[str]:
    return [(error.get("extensions") or {}).get("code") for error in body.get("errors") or []]


# --- page sizes, cursors and ids ---------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "{ grids(first: 1000) { edges { node { code } } } }",
    "{ grids(first: -1) { edges { node { code } } } }",
    "{ grids(last: -3) { edges { node { code } } } }",
    "{ events(first: 1000) { edges { node { id } } } }",
    "{ events(first: -1) { edges { node { id } } } }",
    "{ auditLog(last: 5000) { edges { node { id } } } }",
])
def test_a_page_size_out_of_range_is_invalid_page_size(gql, users, token_for, production_errors, query):
    response = gql(query, token=token_for(users["admin"]), language="en")
    assert response.error_codes == ["invalid_page_size"], response.body
    assert "100" in response.errors[0]["message"]


@pytest.mark.parametrize("field,cursor", [
    ("grids", "abc"),  # binascii: Incorrect padding
    ("grids", b64("arrayconnection:²")),  # str.isdigit says yes, int() says no
    ("grids", b64("arrayconnection:-5")),
    ("grids", b64("arrayconnection: 7")),
    ("grids", b64("arrayconnection:99999999999999999999999999")),
    ("grids", b64("orderedcursor:[\"1\"]")),
    ("grids", b64("no-colon")),
    ("events", "abc"),
    ("events", b64("orderedcursor:not json")),
    ("events", b64("orderedcursor:[\"x\", \"y\"]")),
    ("events", b64("orderedcursor:[\"not a time\", \"1\"]")),
    ("events", b64("arrayconnection:1")),
])
def test_a_malformed_cursor_is_invalid_cursor(gql, users, token_for, production_errors, field, cursor):
    response = gql(f'{{ {field}(after: "{cursor}") {{ edges {{ cursor }} }} }}', token=token_for(users["operator"]),
                   language="en")
    assert response.error_codes == ["invalid_cursor"], response.body
    assert response.errors[0]["message"] == "The cursor is not valid."
    before = gql(f'{{ {field}(before: "{cursor}") {{ edges {{ cursor }} }} }}', token=token_for(users["operator"]))
    assert before.error_codes == ["invalid_cursor"], before.body


def test_a_cursor_the_server_handed_out_still_pages(gql, users, token_for, district):
    token = token_for(users["operator"])
    first = gql("{ grids(first: 1) { edges { cursor node { code } } } }", token=token).data["grids"]["edges"]
    after = gql(f'{{ grids(first: 1, after: "{first[0]["cursor"]}") {{ edges {{ node {{ code }} }} }} }}', token=token)
    assert after.errors == [] and after.data["grids"]["edges"][0]["node"]["code"] != first[0]["node"]["code"]


@pytest.mark.parametrize("cursor", ["²", "٣", "-1", " 1", "1" * 30, "1e3"])
def test_a_change_feed_cursor_must_be_ascii_digits(gql, users, token_for, production_errors, cursor):
    response = gql('query($c: String) { changes(after: $c) { endCursor } }', {"c": cursor},
                   token=token_for(users["worker"]))
    assert response.error_codes == ["invalid_cursor"], response.body


@pytest.mark.parametrize("node_id", [
    "R3JpZDp4",  # Grid:x
    b64("Grid:²"),
    b64("Grid:-1"),
    b64("Grid:1" + "0" * 30),
    b64("NoSuchType:1"),
    "!!!",
    b64("no colon"),
])
def test_a_bad_node_id_is_invalid_id(gql, users, token_for, production_errors, node_id):
    response = gql("query($id: ID!) { node(id: $id) { id } }", {"id": node_id}, token=token_for(users["operator"]),
                   language="en")
    assert response.error_codes == ["invalid_id"], response.body
    assert "internal" not in response.errors[0]["message"].lower()


def test_a_bad_id_in_an_input_is_invalid_id(gql, users, token_for, production_errors):
    response = gql('mutation { postGridNotice(input: {gridId: "R3JpZDp4", title: "t"}) { errors { code } } }',
                   token=token_for(users["operator"]))
    assert response.error_codes == ["invalid_id"] or response.data["postGridNotice"]["errors"][0]["code"] in {
        "invalid_id", "not_found"}, response.body


# --- NUL in text -------------------------------------------------------------------------------------------

LOGIN = 'mutation($u: String!) { login(input: {username: $u, password: "x"}) { errors { code } } }'


def test_a_nul_in_a_string_variable_is_invalid_text(gql, users, production_errors):
    response = gql(LOGIN, {"u": "work\x00er"}, language="en")
    assert response.error_codes == ["invalid_text"], response.body
    assert "NUL" in response.errors[0]["message"] or "control" in response.errors[0]["message"]


def test_a_nul_in_a_string_literal_is_invalid_text(gql, users, production_errors):
    response = gql('mutation { login(input: {username: "work\\u0000er", password: "x"}) { errors { code } } }')
    assert response.error_codes == ["invalid_text"], response.body


def test_a_nul_deep_in_an_input_list_is_invalid_text(gql, users, token_for, production_errors):
    query = "mutation($ids: [ID!]!) { transitionEvents(input: {eventIds: $ids, action: ACCEPT}) { errors { code } } }"
    response = gql(query, {"ids": ["RXZlbnQ6MQ==", "a\x00"]}, token=token_for(users["operator"]))
    assert response.error_codes == ["invalid_text"], response.body


def test_a_nul_in_the_statistics_search_is_invalid_text(users, token_for):
    response = Client().get("/exports/event-statistics.csv", {"groupBy": "street", "search": "a\x00b"},
                            HTTP_AUTHORIZATION=f"Bearer {token_for(users['operator'])}")
    assert response.status_code == 400
    assert codes_of(response.json()) == ["invalid_text"]


def test_text_without_nul_still_works(gql, users):
    response = gql(LOGIN, {"u": "nobody\u00e9\u4e2d"})
    assert response.errors == [] and response.data["login"]["errors"][0]["code"] == "invalid_credentials"


# --- bodies that used to be 500s ----------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"\xff\xfe{\"query\": \"{ __typename }\"}",  # not UTF-8
    b"null", b'"x"', b"5", b"[1]", b"[null]", b"true",
    b'{"query": "{ __typename }", "variables": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b"[" * 5000 + b"]" * 5000,
    b'{"query": 5}',
])
def test_a_body_that_is_not_a_graphql_request_is_a_coded_400(db, body):
    status, content_type, answer = post_raw(body)
    assert status == 400 and content_type.startswith("application/json"), answer
    assert codes_of(answer) == ["bad_request"]


def test_deeply_nested_variables_over_get_are_a_coded_400(db):
    response = Client().get("/graphql/", {"query": "{ __typename }", "variables": "[" * 5000 + "]" * 5000},
                            HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and codes_of(response.json()) == ["bad_request"]


@pytest.mark.parametrize("mapping", ["[1]", '{"0": "variables.photo"}', "5", "not json"])
def test_a_multipart_map_that_is_not_an_object_of_lists_is_a_coded_400(db, mapping):
    from django.core.files.uploadedfile import SimpleUploadedFile

    operations = {"query": "mutation($p: Upload!) { suggestEventCategories(photo: $p) { ticket } }",
                  "variables": {"p": None}}
    response = Client().post("/graphql/", {"operations": json.dumps(operations), "map": mapping,
                                           "0": SimpleUploadedFile("a.jpg", b"x", content_type="image/jpeg")})
    assert response.status_code == 400 and codes_of(response.json()) == ["bad_request"], response.content


def test_101_files_are_a_graphql_shaped_400(users, token_for):
    operations = {"query": "mutation($p: [Upload!]!) { reportEvent(input: {categoryCode: \"02-01\", lat: 36.01, "
                           "lng: 120.31, photos: $p}) { errors { code } } }",
                  "variables": {"p": [None] * 101}}
    data = {"operations": json.dumps(operations),
            "map": json.dumps({str(n): [f"variables.p.{n}"] for n in range(101)})}
    for n in range(101):
        data[str(n)] = SimpleUploadedFile(f"{n}.jpg", b"x", content_type="image/jpeg")
    response = Client().post("/graphql/", data, HTTP_AUTHORIZATION=f"Bearer {token_for(users['worker'])}",
                             HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert codes_of(response.json()) == ["too_many_files"]


# --- one error shape everywhere -----------------------------------------------------------------------------

def test_photo_link_errors_have_the_errors_shape(db):
    response = Client().get("/photos/not-a-signed-token", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "No such photo.", "extensions": {"code": "not_found"}}]}


# --- logs: refusals are not errors ----------------------------------------------------------------------------

def test_expected_refusals_write_no_error_and_no_traceback(gql, users, caplog):
    query = "{ " + " ".join(f'n{n}: node(id: "R3JpZDox") {{ id }}' for n in range(25)) + " }"
    with caplog.at_level(logging.INFO):
        response = gql(query)
    assert response.error_codes == ["unauthenticated"] * 25
    assert [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("strawberry")] == []
    assert not any(r.exc_info for r in caplog.records if r.name.startswith("strawberry"))


def test_a_real_bug_is_still_logged_as_an_error_with_its_traceback(gql, users, token_for, caplog, monkeypatch):
    import api.accounts.types

    def broken(user):
        raise RuntimeError("a real bug")

    monkeypatch.setattr(api.accounts.types, "grids_of_worker", broken)
    with caplog.at_level(logging.INFO):
        response = gql("{ me { grids { code } } }", token=token_for(users["worker"]))
    assert response.errors
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info and "a real bug" in str(errors[0].exc_info[1])


def test_the_refusals_are_in_the_readers_language(gql, users, token_for):
    token = token_for(users["operator"])
    assert gql("{ grids(first: 1000) { edges { cursor } } }", token=token).errors[0]["message"] == (
        "first 和 last 必须在 0 到 100 之间。")
    assert gql(LOGIN, {"u": "a\x00"}).errors[0]["message"] == "文本中不能包含 NUL 字符（U+0000）。"
    status, _type, answer = post_raw(b"null", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer["errors"][0]["message"] == "请求正文必须是 JSON 对象。"


def test_a_malformed_request_to_any_view_is_json(users, token_for):
    query = "&".join(f"f{n}=1" for n in range(1200)) + "&groupBy=street"
    response = Client().get(f"/exports/event-statistics.csv?{query}",
                            HTTP_AUTHORIZATION=f"Bearer {token_for(users['operator'])}")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert codes_of(response.json()) == ["bad_request"]
