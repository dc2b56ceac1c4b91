"""Service errors become typed errors in one place (``api.mutations.TypedErrors``), each domain's codes an enum in
the schema whose values are the services' codes as they were.

The enums are kept honest by reading the services: every code a domain's services can raise (a literal ``code=``
of a ``ValidationError``, ``WorkflowError``, ``AuthError`` or typed error) is in its enum, and every value of
the enum is raised somewhere.  A code that slips through anyway is answered as ``invalid`` and logged, never
a crash (tested below).
"""

from __future__ import annotations

import ast
import importlib
import logging
import pathlib

import pytest
import strawberry
from django.core.exceptions import PermissionDenied, ValidationError
from strawberry.relay import to_base64

from api.accounts.errors import AccountErrorCode
from api.approvals.errors import ApplicationErrorCode, CertificateErrorCode
from api.campaigns.errors import CampaignErrorCode
from api.errors import MutationError, errors_from
from api.feed import FeedErrorCode
from api.grid.errors import GridError, GridErrorCode
from api.incidents.errors import EventErrorCode
from api.mutations import TypedErrors, mutation
from api.parks.errors import ParkErrorCode
from api.restrict import Payload
from api.schema import schema
from api.sensors.errors import SensorErrorCode
from api.vision.errors import VisionErrorCode
from core.models import AuditEntry

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Codes every domain has: a ValidationError without a code, and PermissionDenied.
BASE = {"invalid", "permission_denied"}
PHOTO = ["core/files/ingest.py", "core/files/images.py", "core/files/reading.py", "gridapp/incidents/photos.py"]

#: What each domain's mutations call, as files (``path``) or some functions of a file (``path:f,g``).
SOURCES = {
    AccountErrorCode: ["accounts/services.py:login_throttle_check,user_login,token_authenticate,token_refresh,"
                       "user_logout", "api/accounts/mutations.py"],
    GridErrorCode: ["gridapp/geography/services.py:grid_notice_post", "api/grid/mutations.py"],
    EventErrorCode: ["gridapp/incidents/services/intake.py", "gridapp/incidents/services/common.py",
                     "gridapp/incidents/services/transitions.py", "core/workflow/engine.py", "api/limits.py",
                     "api/base/ids.py", "api/incidents/mutations.py", *PHOTO],
    VisionErrorCode: ["vision/boxing.py", "vision/suggestions.py", "api/base/ids.py", "api/vision/mutations.py",
                      "api/vision/subscriptions.py", *PHOTO],
    FeedErrorCode: ["core/services.py:notification_mark_read", "api/base/ids.py", "api/feed.py"],
    CertificateErrorCode: ["approvals/services.py:certificate_issue,_need_reason", "approvals/catalogue.py",
                           "core/workflow/engine.py", "api/base/ids.py", "api/approvals/mutations.py"],
    ApplicationErrorCode: ["approvals/applications.py", "approvals/services.py:authorisation_grant,authorisation_withdraw", "approvals/catalogue.py", "core/workflow/engine.py",
                           "core/workflow/steps.py:_not_own,_note,_reason,_materials", "api/base/ids.py",
                           "api/approvals/mutations.py", "core/files/documents.py", *PHOTO],
    CampaignErrorCode: ["gridapp/campaigns/services.py", "core/workflow/engine.py", "api/base/ids.py",
                        "api/campaigns/mutations.py", "api/campaigns/queries.py", *PHOTO],
    SensorErrorCode: ["gridapp/sensors/services.py:_kept,consent_record,consent_withdraw", "api/base/ids.py",
                      "api/sensors/mutations.py"],
    ParkErrorCode: ["parks/services.py:credential_provision,_device_key,employee_status_set,gate_pass",
                    "parks/visitors.py", "parks/charging.py:charging_remote", "parks/parking.py", "parks/lampposts.py", "parks/board.py",
                    "core/files/videos.py", "api/base/ids.py",
                    "api/parks/mutations.py", *PHOTO],
}

#: Codes handed on rather than named, and where they come from.
PASSED_ON = {
    ("core/workflow/engine.py", "code"),  # WorkflowError's constructor gives its code to ValidationError
    ("gridapp/incidents/services/common.py", "exc.code"),  # a photo's code from core.files (in PHOTO)
}


def _raised(source: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The codes ``source`` raises by name, and the expressions it raises other codes by."""
    path, _sep, functions = source.partition(":")
    tree = ast.parse((ROOT / path).read_text())
    roots = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in functions.split(",")] \
        if functions else [tree]
    assert not functions or len(roots) == len(functions.split(",")), f"{source}: a function is gone"
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    codes, passed_on = set(), set()
    for root in roots:
        for node in ast.walk(root):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            found = [keyword.value for keyword in node.keywords if keyword.arg == "code"]
            typed = name == "of" and getattr(node.func.value, "id", "").endswith("Error")  # VisionError.of(...)
            if not (name.endswith(("Error", "Denied")) or typed):
                continue
            if (name == "AuthError" or typed) and node.args:
                found.append(node.args[0])
            for value in found:
                if isinstance(value, ast.Name) and isinstance(getattr(module, value.id, None), str):
                    codes.add(getattr(module, value.id))  # a module's constant (RATE_LIMITED)
                elif isinstance(value, ast.Constant) and isinstance(value.value, str):
                    codes.add(value.value)
                else:
                    passed_on.add((path, ast.unparse(value)))
    return codes, passed_on


@pytest.mark.parametrize("codes", list(SOURCES), ids=lambda codes: codes.__name__)
def test_every_code_a_domains_services_raise_is_in_its_enum_and_no_other(codes):
    raised, passed_on = set(), set()
    for source in SOURCES[codes]:
        found, handed = _raised(source)
        raised |= found
        passed_on |= handed
    assert passed_on <= PASSED_ON, f"codes handed on from elsewhere: say where they come from {passed_on - PASSED_ON}"
    values = {member.value for member in codes}
    assert raised - values == set(), f"{codes.__name__} lacks codes its services raise"
    assert values - raised - BASE == set(), f"{codes.__name__} has codes nothing raises"


def test_the_scan_sees_what_a_service_raises():
    """The scanner finds codes by keyword, AuthError's first argument, typed errors and module constants."""
    codes, _passed_on = _raised("accounts/services.py:user_login")
    assert "invalid_credentials" in codes
    assert "rate_limited" in _raised("api/limits.py")[0]
    assert {"suggestions_timeout", "detectors_failed"} <= _raised("api/vision/subscriptions.py")[0]


def _mutations():
    return [(name, field) for name, field in schema._schema.mutation_type.fields.items()]


@pytest.mark.parametrize("name,field", _mutations(), ids=[name for name, _field in _mutations()])
def test_every_mutation_answers_refusals_through_typed_errors_of_its_domain(name, field):
    strawberry_field = field.extensions["strawberry-definition"]
    assert any(isinstance(extension, TypedErrors) for extension in strawberry_field.extensions), name
    payload = strawberry_field.type
    assert issubclass(payload, Payload)
    error_type = payload.error_type()
    assert error_type is not MutationError and error_type.codes() in SOURCES, name


def test_every_error_code_in_the_schema_is_an_enum_whose_names_are_the_wire_values():
    from graphql import GraphQLEnumType, GraphQLObjectType, get_named_type

    error_types = {name: graphql for name, graphql in schema._schema.type_map.items()
                   if isinstance(graphql, GraphQLObjectType) and name.endswith("Error") and "code" in graphql.fields}
    assert set(error_types) == {"AccountError", "GridError", "EventError", "VisionError", "FeedError",
                                "CertificateError", "ApplicationError", "ParkError", "CampaignError",
                                "SensorError"}
    for name, graphql in error_types.items():
        code = get_named_type(graphql.fields["code"].type)
        assert isinstance(code, GraphQLEnumType) and code.name == f"{name}Code", name
    for codes in SOURCES:
        graphql = schema._schema.type_map[codes.__name__]
        assert {name: value.value for name, value in graphql.values.items()} == {m.value: m.value for m in codes}
        assert all(graphql.serialize(member) == member.value for member in codes)


def test_a_service_error_becomes_its_domains_error_with_its_field_in_camel_case():
    errors = errors_from(ValidationError({"category_code": ValidationError("x", code="required")}), GridError)
    assert [(e.code, e.field, e.message) for e in errors] == [(GridErrorCode.required, "categoryCode", "x")]
    assert [e.code for e in errors_from(ValidationError("no code"), GridError)] == [GridErrorCode.invalid]
    denied = errors_from(PermissionDenied(), GridError)
    assert denied[0].code == "permission_denied" and denied[0].message
    with pytest.raises(KeyError):
        errors_from(KeyError("a bug"), GridError)


POST = """mutation($g: ID!) { postGridNotice(input: {gridId: $g, title: "t"}) {
  errors { code field message } notice { id } } }"""


def test_a_code_missing_from_the_enum_is_answered_as_invalid_and_logged(gql, users, token_for, district,
                                                                        monkeypatch, caplog):
    """A service that starts raising a code its domain's enum lacks must not crash the mutation."""
    def new_rule(**_kwargs):
        raise ValidationError({"title": ValidationError("Titles rhyme now.", code="does_not_rhyme")})

    monkeypatch.setattr("gridapp.geography.services.grid_notice_post", new_rule)
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        answer = gql(POST, {"g": to_base64("Grid", district.grid.pk)}, token=token_for(users["operator"]))
    assert answer.errors == []
    assert answer.data["postGridNotice"] == {
        "errors": [{"code": "invalid", "field": "title", "message": "Titles rhyme now."}], "notice": None}
    assert "does_not_rhyme" in caplog.text and "GridErrorCode" in caplog.text
    entry = AuditEntry.objects.filter(action="mutation.postGridNotice").latest("id")
    assert (entry.result, entry.error_code) == ("failed", "invalid")


def test_a_refusal_is_audited_with_its_code_and_an_unexpected_error_is_not_swallowed(
        gql, users, token_for, district, monkeypatch):
    def denied(**_kwargs):
        raise PermissionDenied("Not today.")

    monkeypatch.setattr("gridapp.geography.services.grid_notice_post", denied)
    answer = gql(POST, {"g": to_base64("Grid", district.grid.pk)}, token=token_for(users["operator"]))
    assert answer.data["postGridNotice"]["errors"] == [{"code": "permission_denied", "field": None,
                                                        "message": "Not today."}]
    entry = AuditEntry.objects.filter(action="mutation.postGridNotice").latest("id")
    assert (entry.result, entry.error_code) == ("denied", "permission_denied")

    def broken(**_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("gridapp.geography.services.grid_notice_post", broken)
    answer = gql(POST, {"g": to_base64("Grid", district.grid.pk)}, token=token_for(users["operator"]))
    assert answer.data is None and len(answer.errors) == 1  # a bug stays an error, not a typed refusal
    entry = AuditEntry.objects.filter(action="mutation.postGridNotice").latest("id")
    assert (entry.result, entry.error_code) == ("failed", "RuntimeError")


def test_a_payload_says_more_about_a_refusal_where_it_has_more(gql, users, settings):
    """A throttled login answers when to try again next to its typed error."""
    login = 'mutation { login(input: {username: "worker", password: "wrong"}) { errors { code } retryAfterSeconds } }'
    answers = [gql(login).data["login"] for _attempt in range(settings.LOGIN_FAILURE_LIMIT + 1)]
    assert answers[0] == {"errors": [{"code": "invalid_credentials"}], "retryAfterSeconds": None}
    assert answers[-1]["errors"] == [{"code": "throttled"}] and answers[-1]["retryAfterSeconds"] > 0


@strawberry.type
class LoosePayload(Payload):
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type
class LooseMutation:
    @mutation(description="Returns errors of no domain.")
    def loose(self) -> LoosePayload:
        return LoosePayload()


@strawberry.type
class LooseQuery:
    ok: bool = True


def test_a_payload_whose_errors_are_not_a_domains_is_refused_when_the_schema_is_built():
    with pytest.raises(TypeError, match="domain's error type"):
        strawberry.Schema(query=LooseQuery, mutation=LooseMutation)
