"""The hand-written views that bench/api.py measures GraphQL against answer what GraphQL answers: a benchmark
that compares two different answers measures nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bench.api import HOME
from gridapp.incidents.models import Event
from gridapp.incidents.services import event_report, event_transition
from tests.factories import jpeg_bytes
from tests.gridapp.test_event_intake import SPOT


@pytest.mark.urls("bench.urls")
def test_the_home_view_answers_the_same_json_as_my_tasks(users, district, event_categories, token_for):
    """Tasks with and without a deadline, with and without a photo: the same tasks in the same order (NULL
    deadlines last on both databases), the same fields."""
    now = timezone.now()
    for i, deadline in enumerate([now + timedelta(hours=3), None, now - timedelta(hours=1), None,
                                  now + timedelta(hours=3)]):
        event = event_report(reporter=users["citizen"], category_code="02-05", lng=SPOT[0] + 0.0012 * i,
                             lat=SPOT[1], photos=[jpeg_bytes(size=(64, 48))] if i % 2 else []).event
        event_transition(actor=users["urban"], event_id=event.pk, action="accept")
        event_transition(actor=users["urban"], event_id=event.pk, action="dispatch", assignee=users["worker"])
        Event.objects.filter(pk=event.pk).update(deadline=deadline)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(users['worker'])}")
    graphql = json.loads(client.get("/graphql/", {"query": HOME}, HTTP_ACCEPT="application/json").content)
    view = json.loads(client.get("/bench/home").content)
    edges = graphql["data"]["myTasks"]["edges"]
    assert len(edges) == 5 and [edge["node"]["deadline"] is None for edge in edges][-2:] == [True, True]
    assert any(edge["node"]["thumbnailUrl"] for edge in edges)
    assert view == graphql
