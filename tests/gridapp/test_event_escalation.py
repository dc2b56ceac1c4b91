"""Deadlines: an overdue event climbs grid -> community -> street -> command centre, once per level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Notification
from gridapp.incidents.models import EventEscalation
from gridapp.incidents.services import event_report, event_transition, events_escalate
from gridapp.tasks import events_escalate_task
from tests.factories import jpeg_bytes
from tests.gridapp.test_event_intake import SPOT

OVERDUE_LIST = """{ events(first: 10, filter: {overdue: true}) { edges { node { caseNumber isOverdue
  escalationLevel wasOverdue } } } }"""


def escalated_to(event) -> dict[int, list[str]]:
    return {row.level: sorted(Notification.objects.filter(source=f"escalation:{event.pk}:{row.level}")
                              .values_list("recipient__username", flat=True))
            for row in EventEscalation.objects.filter(event=event)}


def test_a_passing_deadline_escalates_once_per_level(users, district, event_categories, supervisors, gql, token_for):
    event = event_report(reporter=users["worker"], category_code="02-01", lng=SPOT[0], lat=SPOT[1],
                         photos=[jpeg_bytes()]).event
    deadline = event.deadline
    step = timedelta(hours=event.category.accept_hours) * 0.5  # EVENT_ESCALATION_STEP_FRACTION
    assert events_escalate(now=deadline - timedelta(minutes=1)) == 0

    assert events_escalate(now=deadline + timedelta(minutes=1)) == 1
    assert escalated_to(event) == {1: ["worker"]}
    assert events_escalate(now=deadline + timedelta(minutes=2)) == 0  # the same level is not raised twice

    assert events_escalate(now=deadline + step + timedelta(minutes=1)) == 1
    assert escalated_to(event)[2] == ["community_chief"]
    # Far beyond: the remaining levels, each once, even when a run was missed.
    assert events_escalate(now=deadline + 10 * step) == 2
    assert escalated_to(event) == {1: ["worker"], 2: ["community_chief"], 3: ["street_chief"], 4: ["operator"]}
    assert events_escalate(now=deadline + 20 * step) == 0
    event.refresh_from_db()
    assert event.escalation_level == 4 and event.was_overdue
    assert list(event.history.filter(action="escalate").values_list("data__level", flat=True)) == [1, 2, 3, 4]

    # Shown as overdue in the lists of the people it reached (the clock above was simulated; make it real).
    type(event).objects.filter(pk=event.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    for who in ("urban", "worker", "operator"):
        edges = gql(OVERDUE_LIST, token=token_for(users[who])).data["events"]["edges"]
        assert [edge["node"] for edge in edges] == [
            {"caseNumber": event.case_number, "isOverdue": True, "escalationLevel": 4, "wasOverdue": True}]
    # ... and counted as overdue in the statistics.
    figures = gql("{ eventStatistics(groupBy: [GRID]) { rows { cases overdue overdueRate } } }",
                  token=token_for(users["operator"])).data["eventStatistics"]["rows"]
    assert figures == [{"cases": 1, "overdue": 1, "overdueRate": 1.0}]


def test_a_case_on_hold_or_handled_in_time_is_not_escalated(users, district, event_categories):
    event = event_report(reporter=users["worker"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event
    event_transition(actor=users["urban"], event_id=event.pk, action="accept")
    event_transition(actor=users["urban"], event_id=event.pk, action="hold", note="等待")
    assert events_escalate(now=event.deadline + timedelta(days=30)) == 0
    assert not EventEscalation.objects.exists()


def test_the_beat_task_runs_the_same_escalation(users, district, event_categories, settings):
    event = event_report(reporter=users["worker"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event
    assert settings.CELERY_BEAT_SCHEDULE["events-escalate"]["task"] == events_escalate_task.name
    type(event).objects.filter(pk=event.pk).update(deadline=event.reported_at - timedelta(minutes=5))
    assert events_escalate_task.apply().get() == 1
    assert escalated_to(event) == {1: ["worker"]}


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_notify_each_level_once(users, district, event_categories, supervisors):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    event = event_report(reporter=users["worker"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event
    late = event.deadline + timedelta(days=3)

    def run():
        try:
            return events_escalate(now=late)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run(), range(2)))
    assert sum(results) == 4
    assert Notification.objects.filter(source__startswith=f"escalation:{event.pk}:").count() == 4
