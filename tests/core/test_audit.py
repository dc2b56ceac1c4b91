"""The audit log: every mutation, login and permission change; append-only; auditors only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from strawberry.relay import to_base64

from accounts.models import Role
from core.actor import acting_as
from core.models import AppendOnlyError, AuditEntry
from gridapp.geography.services import grid_assign_worker

AUDIT_LOG = """query($action: String) {
  auditLog(first: 50, filters: {action: {exact: $action}}) { edges { node { actorLabel action target result errorCode clientIp at } } }
}"""
POST_NOTICE = 'mutation($g: ID!, $t: String!) { postGridNotice(input: {gridId: $g, title: $t}) { errors { code field } } }'


def test_a_mutation_is_audited_with_who_result_and_address(gql, users, district, token_for):
    grid = to_base64("Grid", district.grid.pk)
    gql(POST_NOTICE, {"g": grid, "t": "路面塌陷"}, token=token_for(users["operator"]), headers={"REMOTE_ADDR": "10.9.8.7"})
    gql(POST_NOTICE, {"g": grid, "t": "越权"}, token=token_for(users["worker"]), headers={"REMOTE_ADDR": "10.9.8.6"})
    gql(POST_NOTICE, {"g": grid, "t": "  "}, token=token_for(users["operator"]))
    rows = list(AuditEntry.objects.filter(action="mutation.postGridNotice").order_by("id")
                .values_list("actor_label", "result", "error_code", "client_ip"))
    assert rows == [("operator", "ok", "", "10.9.8.7"), ("worker", "denied", "permission_denied", "10.9.8.6"),
                    ("operator", "failed", "required", "127.0.0.1")]


@pytest.mark.parametrize("username", ["auditor", "admin"])
def test_auditors_read_the_log(gql, users, token_for, username):
    gql("mutation($u: String!) { login(input: {username: $u, password: \"nope\"}) { errors { code } } }",
        {"u": "worker"}, headers={"REMOTE_ADDR": "10.0.0.5"})
    edges = gql(AUDIT_LOG, {"action": "login"}, token=token_for(users[username])).data["auditLog"]["edges"]
    assert [edge["node"]["result"] for edge in edges] == ["failed"]
    node = edges[0]["node"]
    assert node["actorLabel"] == "worker" and node["clientIp"] == "10.0.0.5" and node["at"].endswith("+08:00")


@pytest.mark.parametrize("username", ["operator", "worker", "urban", "citizen", "business", "employee", "parkop"])
def test_nobody_else_reads_the_log(gql, users, token_for, username):
    response = gql(AUDIT_LOG, {"action": "login"}, token=token_for(users[username]))
    assert response.data is None and response.error_codes == ["permission_denied"]


def test_granting_a_grid_is_audited_with_the_actor(users, district):
    grid_assign_worker(actor=users["operator"], grid=district.grid2, worker=users["worker"], client_ip="10.2.2.2")
    entry = AuditEntry.objects.filter(action="permission.grant").latest("id")
    assert entry.actor_label == "operator" and entry.client_ip == "10.2.2.2"
    assert entry.target == f"gridapp.patrol_grid grid:{district.grid2.code} user:worker"


def test_role_and_model_permission_changes_are_audited_whoever_makes_them(users):
    citizen = users["citizen"]
    with acting_as(users["admin"], "10.3.3.3"):
        citizen.role = Role.GRID_WORKER
        citizen.save()
        citizen.user_permissions.add(Permission.objects.get(codename="view_grid"))
    role = AuditEntry.objects.filter(action="permission.user", target="user:citizen").latest("id")
    assert role.actor_label == "admin" and role.details["changed"] == {"role": ["citizen", "grid_worker"]}
    added = AuditEntry.objects.filter(action="permission.add").latest("id")
    assert added.actor_label == "admin" and added.details["related"] == "auth.permission"


def test_a_change_made_in_the_admin_is_audited_with_the_admin_user(client, users, district):
    client.force_login(users["admin"])
    worker2 = users["worker2"]
    response = client.post(f"/admin/accounts/user/{worker2.pk}/change/", {
        "username": "worker2", "role": "department_staff", "department": users["urban"].department_id,
        "display_name": worker2.display_name, "phone": worker2.phone or "", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00", "business_capacity": "",
    })
    assert response.status_code == 302, response.content[:2000]
    entry = AuditEntry.objects.filter(action="permission.user", target="user:worker2").latest("id")
    assert entry.actor_label == "admin"
    assert entry.details["changed"]["role"] == ["grid_worker", "department_staff"]


def test_audit_rows_cannot_be_changed_or_deleted(users):
    entry = AuditEntry.objects.create(action="x", result="ok")
    entry.action = "y"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
