"""Request limits: every refusal is a clear, coded error and none reaches a resolver."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from gridapp.geography.models import GridNotice


def test_query_deeper_than_the_limit_is_refused(gql, users, token_for, settings):
    limit = settings.GRAPHQL["MAX_DEPTH"]
    fragment = "id"
    for _ in range(limit):
        fragment = f"... on Grid {{ community {{ street {{ id }} }} }} node: node(id: \"R3JpZDox\") {{ {fragment} }}"
    response = gql(f"{{ node(id: \"R3JpZDox\") {{ {fragment} }} }}", token=token_for(users["operator"]))
    assert response.data is None
    assert "exceeds maximum operation depth" in response.errors[0]["message"]
    assert response.error_codes[0] == "too_deep"


def _of_type_chain(levels: int) -> str:
    chain = "name"
    for _ in range(levels):
        chain = f"ofType {{ kind {chain} }}"
    return chain


@pytest.mark.parametrize("query", [
    '{ __type(name: "Event") { ' + _of_type_chain(11) + " } }",
    "{ __schema { types { fields { type { " + _of_type_chain(11) + " } } } } }",
    # a fan-out over every field of every type at each level: what a depth limit is for
    "{ __schema { types { " + "fields { type { " * 5 + "name" + " } }" * 5 + " } } }",
])
def test_introspection_counts_towards_the_depth_limit(gql, users, token_for, settings, query):
    """strawberry's limiter skipped every field named ``__...`` and all below it: the ``ofType`` chains passed
    (graphql-core's own introspection rule counts only lists of types in each other, as in the third)."""
    assert settings.GRAPHQL["INTROSPECTION"]
    response = gql(query, token=token_for(users["operator"]))
    assert response.data is None
    assert response.error_codes[0] == "too_deep"
    assert "exceeds maximum operation depth" in response.errors[0]["message"]


def test_the_standard_introspection_query_passes_the_depth_limit(gql, users, token_for, settings):
    """The query GraphiQL and client generators send (graphql-js's, which graphql-core copies: type references
    nested nine deep), with every optional part asked: its depth, measured the way the limit counts it, is
    within the limit, and it answers."""
    from graphql import get_introspection_query, parse

    from api.depth import operation_depths

    query = get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                                    schema_description=True, input_value_deprecation=True, one_of=True)
    depth = max(operation_depths(parse(query)).values())
    assert 0 < depth <= settings.GRAPHQL["MAX_DEPTH"]
    response = gql(query, token=token_for(users["worker"]))
    assert response.errors == [] and response.data["__schema"]["queryType"]["name"] == "Query"
    assert gql('{ __type(name: "Event") { fields { type { ' + _of_type_chain(9) + " } } } }",
               token=token_for(users["worker"])).errors == []


def test_five_hundred_aliases_are_refused(gql, users, token_for):
    query = "{ " + " ".join(f"a{n}: latestCursor" for n in range(500)) + " }"
    response = gql(query, token=token_for(users["worker"]))
    assert response.data is None
    assert "aliases" in response.errors[0]["message"]


def test_too_many_tokens_are_refused(gql, users, token_for, settings):
    query = "{ me { " + " ".join(["username"] * (settings.GRAPHQL["MAX_TOKENS"] + 10)) + " } }"
    response = gql(query[: settings.GRAPHQL["MAX_DOCUMENT_BYTES"] - 10] + " } }", token=token_for(users["worker"]))
    assert response.data is None
    assert "token" in response.errors[0]["message"].lower()


def test_a_one_megabyte_document_is_refused_with_413(gql, users, token_for):
    response = gql("{ me { username } }" + " " * 1_000_000, token=token_for(users["worker"]))
    assert response.status == 413 and response.error_codes == ["document_too_large"]


def test_a_document_over_the_document_limit_but_under_the_body_limit_is_refused(gql, users, token_for, settings):
    response = gql("{ me { username } }" + "#" * settings.GRAPHQL["MAX_DOCUMENT_BYTES"], token=token_for(users["worker"]))
    assert response.status == 413 and response.error_codes == ["document_too_large"]


def test_a_mutation_over_get_is_refused_and_nothing_runs(gql, users, token_for, district):
    grid_id = _gid("Grid", district.grid.pk)
    query = f'mutation {{ postGridNotice(input: {{gridId: "{grid_id}", title: "t"}}) {{ errors {{ code }} }} }}'
    response = gql(query, token=token_for(users["operator"]), method="get")
    assert response.status == 405 and response.error_codes == ["method_not_allowed"]
    assert not GridNotice.objects.exists()


def test_a_query_over_get_works(gql, users, token_for):
    assert gql("{ me { username } }", token=token_for(users["worker"]), method="get").data == {"me": {"username": "worker"}}


def test_page_size_is_capped(gql, users, token_for, settings):
    response = gql("{ grids(first: 1000) { edges { node { code } } } }", token=token_for(users["operator"]))
    assert response.data is None
    assert str(settings.GRAPHQL["MAX_PAGE_SIZE"]) in response.errors[0]["message"]


def test_graphiql_is_served_in_debug_only(db, settings):
    response = Client().get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"graphiql" in response.content.lower()


PRODUCTION_PROBE = """
import json, django
django.setup()
from api.schema import schema
out = {}
for name, query in {"introspection": "{ __schema { types { name } } }", "typo": "{ mee { username } }",
                    "anonymous": "{ me { username } }"}.items():
    result = schema.execute_sync(query, context_value={"request": None})
    out[name] = [{"message": e.message, "code": (e.extensions or {}).get("code")} for e in result.errors or []]
print(json.dumps(out))
"""


def run_production(code: str, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "ONEGRID_ENV": "production", "SECRET_KEY": "s" * 50, "DEBUG": "0",
                   "REDIS_URL": "redis://127.0.0.1:1/0", "ALLOWED_HOSTS": "onegrid.example", **env}
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                          cwd=settings.BASE_DIR, timeout=60)


def test_production_refuses_introspection_hides_suggestions_and_keeps_coded_errors():
    result = run_production(PRODUCTION_PROBE)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert "introspection" in out["introspection"][0]["message"].lower()
    assert "Did you mean" not in out["typo"][0]["message"] and "mee" in out["typo"][0]["message"]
    assert out["anonymous"][0]["code"] == "unauthenticated"


@pytest.mark.parametrize("env,complaint", [
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"DEBUG": "1"}, "DEBUG"),
    ({"REDIS_URL": ""}, "REDIS_URL"),
])
def test_production_refuses_to_start_with_embedded_defaults(env, complaint):
    result = run_production("import django; django.setup()", **env)
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr and complaint in result.stderr


def test_unexpected_errors_are_masked_and_coded_ones_are_not():
    from graphql import GraphQLError

    from api.extensions import _should_mask

    assert _should_mask(GraphQLError("boom", original_error=RuntimeError("database password is hunter2")))
    assert not _should_mask(GraphQLError("Log in first", extensions={"code": "unauthenticated"},
                                         original_error=GraphQLError("x", extensions={"code": "unauthenticated"})))
    assert not _should_mask(GraphQLError("Syntax Error: Unexpected Name 'x'."))


def _gid(type_name: str, pk: int) -> str:
    from strawberry.relay import to_base64

    return to_base64(type_name, pk)


def test_malformed_json_body_is_a_coded_400(db):
    response = Client().post("/graphql/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert json.loads(response.content)["errors"][0]["extensions"]["code"] == "bad_request"
