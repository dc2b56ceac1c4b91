"""The Celery application.  Queues: ``default`` and ``vision`` (inference, its own workers)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("onegrid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("vision"))
app.autodiscover_tasks()
