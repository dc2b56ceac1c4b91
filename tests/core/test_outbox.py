"""The task outbox: a task decided by a write exists exactly when the write does, and reaches the broker later
if the broker could not take it at commit."""

from __future__ import annotations

import pytest
from celery import current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from core import outbox
from core.models import OutboxTask
from core.outbox import outbox_send, task_enqueue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(monkeypatch):
    """What reached the broker: the real publishing call, recorded (and made to fail while ``down`` is set)."""
    class Sent(list):
        state = {"down": False}

    sent = Sent()
    state = sent.state

    def send_task(name, args=None, kwargs=None, task_id=None, **options):
        if state["down"]:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        sent.append({"name": name, "args": args, "kwargs": kwargs, "id": task_id})

    monkeypatch.setattr(current_app, "send_task", send_task)
    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    return sent


def test_a_task_is_only_enqueued_inside_the_writing_transaction():
    with pytest.raises(transaction.TransactionManagementError):
        task_enqueue("core.tasks.tokens_prune")


def test_a_committed_write_sends_its_task_once_with_the_outbox_id(published):
    with transaction.atomic():
        row = task_enqueue("gridapp.tasks.grid_notice_deliver_task", 42)
        assert published == []  # nothing leaves before the commit
    assert published == [{"name": "gridapp.tasks.grid_notice_deliver_task", "args": [42], "kwargs": {},
                          "id": str(row.pk)}]
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1
    assert outbox_send(older_than=0) == 0  # the relay finds nothing left to send
    assert len(published) == 1


def test_a_rolled_back_write_decides_no_task(published):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            task_enqueue("gridapp.tasks.grid_notice_deliver_task", 1)
            raise RuntimeError("the write fails")
    assert published == [] and not OutboxTask.objects.exists()


def test_a_task_decided_while_the_broker_is_down_waits_and_the_relay_sends_it_when_it_is_back(published):
    published.state["down"] = True
    with transaction.atomic():
        first = task_enqueue("gridapp.tasks.grid_notice_deliver_task", 1)
    with transaction.atomic():
        second = task_enqueue("gridapp.tasks.grid_notice_deliver_task", 2)  # within the backoff: not even tried
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.sent_at is None and first.attempts == 1 and "Connection refused" in first.last_error
    assert second.sent_at is None and second.attempts == 0
    assert outbox_send(older_than=0) == 0  # the relay, while the broker is still down: nothing lost
    assert OutboxTask.objects.filter(sent_at__isnull=True).count() == 2

    published.state["down"] = False
    assert outbox_send(older_than=0) == 2
    assert [item["args"] for item in published] == [[1], [2]]  # in the order they were decided
    assert [item["id"] for item in published] == [str(first.pk), str(second.pk)]
    assert outbox_send(older_than=0) == 0 and len(published) == 2


def test_every_task_ends_before_the_broker_would_hand_it_out_again():
    """A late-acked task unacknowledged for the visibility timeout is given to another worker: a task still
    running then would run twice.  And a killed task must run again within two minutes."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility is None:
        pytest.skip("the embedded filesystem broker has no visibility timeout")
    assert visibility <= 120
    current_app.loader.import_default_modules()  # what a worker imports at start: every app's tasks
    ours = {name: task for name, task in current_app.tasks.items() if not name.startswith("celery.")}
    assert ours
    for name, task in ours.items():
        limit = task.time_limit or current_app.conf.task_time_limit
        assert limit is not None and limit < visibility, name
        if getattr(task, "autoretry_for", None):  # a retry's countdown is spent holding the message unacked
            assert (task.retry_backoff_max or 600) + limit < visibility, name
