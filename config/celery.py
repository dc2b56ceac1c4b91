"""The Celery application.  Queues: ``default`` and ``vision`` (inference, its own workers).

Each worker's main process runs the outbox relay (``core.worker.OutboxRelay``): it sends the tasks that
writes decided while the broker was down, and tells ``/healthz`` the worker is alive.  Every message
carries the time it was sent, so ``/healthz`` can say how long the oldest queued task has waited.
"""

import os

from celery import Celery
from celery.signals import before_task_publish
from kombu import Queue

from core.worker import OutboxRelay, stamp_sent_at

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("onegrid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("vision"))
app.autodiscover_tasks()
app.steps["worker"].add(OutboxRelay)
before_task_publish.connect(stamp_sent_at, weak=False)
