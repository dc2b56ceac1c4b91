"""One registry of visibility rules (``core.restriction``): each app registers its models' selectors once, and the
API's node base (``api.restrict.Restricted``), its relations, its payloads and the file service all apply them."""

from __future__ import annotations

import ast
import pathlib
from types import SimpleNamespace

import pytest
import strawberry
import strawberry_django
from strawberry import relay

from api.context import Viewer
from api.fields import django_type
from api.nodes import MODEL_ID, NODE_TYPES
from api.restrict import RULES, Restricted, reread
from core.files import FileKind, Images
from core.models import Notification, WorkerBeat
from core.restriction import restricted, visibility_register, visibility_unregister, visible, visible_through
from core.services import notification_send

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOMAIN_APPS = ("accounts", "gridapp", "vision", "approvals", "parks")


def test_the_api_names_no_domain_app_to_restrict_objects():
    """The rules come from the apps that own the models: api/restrict.py imports none of them."""
    tree = ast.parse((ROOT / "api" / "restrict.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name.split(".")[0] in DOMAIN_APPS}


def test_every_rule_is_registered_by_the_app_that_owns_its_model():
    owners = {model._meta.app_label for model in RULES}
    assert owners == {"accounts", "approvals", "core", "gridapp", "parks", "vision"}


@pytest.fixture
def beats_rule():
    """A model no app restricts yet, registered as a new app would: a worker's beat is seen by its namesake."""
    visibility_register(WorkerBeat, visible_through(lambda user: WorkerBeat.objects.filter(
        hostname__startswith=f"{user.username}@")))
    yield
    visibility_unregister(WorkerBeat)


def _info(user):
    return SimpleNamespace(context={"request": SimpleNamespace(onegrid_viewer=Viewer(
        user=user, token=None, client_ip=None, user_agent="", language="en"))})


@django_type(WorkerBeat, name="ProbeBeat")
class BeatType(Restricted, relay.Node):
    """A node type of a model no app restricts, declared as a new app's would be: no ``get_queryset``."""

    _id_attr = MODEL_ID
    hostname: str


NODE_TYPES.pop(WorkerBeat._meta.label_lower)  # the change feed names no beats


@strawberry.type
class BeatQuery:
    beats: list[BeatType] = strawberry_django.field()


def test_a_new_apps_rule_narrows_its_node_type_lists_and_payloads_without_a_get_queryset(db, users, beats_rule):
    for hostname in ("worker@a", "worker2@b", "operator@c"):
        WorkerBeat.objects.create(hostname=hostname)
    schema = strawberry.Schema(query=BeatQuery)
    assert "get_queryset" not in vars(BeatType)
    for who, seen in (("worker", ["worker@a"]), ("worker2", ["worker2@b"]), ("citizen", [])):
        answer = schema.execute_sync("{ beats { hostname } }", context_value=_info(users[who]).context)
        assert answer.errors is None and [b["hostname"] for b in answer.data["beats"]] == seen, who
    assert reread(list(WorkerBeat.objects.order_by("hostname")), users["worker2"]) == [
        WorkerBeat.objects.get(hostname="worker2@b")]


def test_the_file_service_applies_the_models_rule_to_a_kind_without_its_own(db, users, beats_rule):
    WorkerBeat.objects.create(hostname="worker@a")
    kind = FileKind(name="probe_beat", model="core.WorkerBeat", variants={"f": "hostname"}, accepts=(Images(),))
    assert list(kind.visible(users["worker"]).values_list("hostname", flat=True)) == ["worker@a"]
    assert not kind.visible(users["worker2"]).exists()
    visibility_unregister(WorkerBeat)
    with pytest.raises(LookupError):
        kind.visible(users["worker"])


def test_a_model_without_a_rule_is_a_bug_not_an_answer(db):
    with pytest.raises(LookupError, match="visibility_register"):
        visible(WorkerBeat, None)


def test_a_node_type_that_is_neither_restricted_nor_public_is_refused_where_it_is_declared():
    with pytest.raises(TypeError, match="Restricted"):
        @django_type(WorkerBeat, name="UnsaidBeat")
        class UnsaidType(relay.Node):
            _id_attr = MODEL_ID
            hostname: str
    assert WorkerBeat._meta.label_lower not in NODE_TYPES


def test_visible_narrows_by_the_rule_once_and_nothing_for_no_user(users):
    own = notification_send(recipient=users["worker"], title="mine")
    notification_send(recipient=users["operator"], title="theirs")
    assert list(visible(Notification, users["worker"])) == [own]
    assert list(visible(Notification, users["operator"], Notification.objects.filter(pk=own.pk))) == []
    assert not visible(Notification, None).exists()
    # a queryset a selector marked as the user's is taken as it is (the rule would not show it)
    marked = restricted(Notification.objects.all(), users["operator"])
    assert visible(Notification, users["operator"], marked).count() == 2
