"""Workflows configured in the admin: a version in use is fixed; "Save as new" publishes the next version, on
which new cases start while running ones keep theirs."""

from __future__ import annotations

import pytest
from django.db.models import Q
from django.test import Client

from accounts.models import Role, User
from core.models import WorkflowDefinition
from core.workflow.cases import workflow_case_open
from core.workflow.steps import StepSpec, step_workflow, workflow_definition_publish
from tests.factories import UserFactory

STEPS = [StepSpec("accept", "受理", "district", "msa", Role.DEPARTMENT_STAFF, 24),
         StepSpec("approve", "批准", "province", "ip", Role.DEPARTMENT_STAFF, 48)]


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(UserFactory(username="root", role=Role.ADMIN, is_superuser=True, is_staff=True))
    return client


def form(definition, steps, *, title=None):
    """The change form as the browser posts it: the definition and its inline steps."""
    data = {"key": definition.key, "title": title or definition.title, "steps-TOTAL_FORMS": str(len(steps)),
            "steps-INITIAL_FORMS": str(len(steps)), "steps-MIN_NUM_FORMS": "1", "steps-MAX_NUM_FORMS": "1000"}
    for index, step in enumerate(steps):
        data.update({f"steps-{index}-{name}": getattr(step, name) for name in
                     ("id", "position", "code", "name", "level", "organisation", "role", "deadline_hours")})
        data[f"steps-{index}-definition"] = definition.pk
    return data


def test_a_version_in_use_is_fixed_and_save_as_new_publishes_the_next(admin_client, register):
    workflow = register(step_workflow(name="tests.admin_approval", holder_filter=lambda user: Q(pk__in=[]),
                                      holders=lambda step: User.objects.none()))
    v1 = workflow_definition_publish(key="renewal", title="办学许可证延续", steps=STEPS)
    url = f"/admin/core/workflowdefinition/{v1.pk}/change/"
    steps = list(v1.steps.all())

    steps[0].deadline_hours = 12
    response = admin_client.post(url, form(v1, steps))  # not used yet: still a draft
    assert response.status_code == 302
    assert v1.steps.get(code="accept").deadline_hours == 12

    running = workflow_case_open(workflow=workflow, definition_key="renewal", title="case")
    steps[0].deadline_hours = 6
    response = admin_client.post(url, form(v1, steps))
    assert response.status_code == 200
    assert [e.code for e in response.context["adminform"].form.non_field_errors().as_data()] == ["in_use"]
    assert v1.steps.get(code="accept").deadline_hours == 12  # the running case's steps did not move

    response = admin_client.post(url, {**form(v1, steps, title="办学许可证延续（新）"), "_saveasnew": "Save as new"})
    assert response.status_code == 302
    v2 = WorkflowDefinition.objects.get(key="renewal", version=2)
    assert list(v2.steps.values_list("code", "deadline_hours")) == [("accept", 6), ("approve", 48)]
    assert workflow_case_open(workflow=workflow, definition_key="renewal", title="new").definition == v2
    running.refresh_from_db()
    assert running.definition == v1
    assert admin_client.get(f"/admin/core/workflowcase/{running.pk}/change/").status_code == 200
