"""Run the whole service in one terminal: ASGI server, Celery worker and beat.  Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

#: The Celery worker as ``run_stack`` starts it (the production test rides a broker outage with exactly this).
#: No worker events (heartbeat, gossip, mingle): nothing reads them, and they are one more thing that publishes
#: to the broker from the worker's main process while the broker is away.
WORKER_ARGS = ["worker", "-Q", "default,vision", "--concurrency", "2", "-l", "info",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]


class Command(BaseCommand):
    help = "Start uvicorn on HOST:PORT, a Celery worker (queues default and vision) and Celery beat."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--asgi-workers", type=int, default=1)

    def handle(self, *args, host: str, port: int, asgi_workers: int, **options):
        bindir = os.path.dirname(sys.executable)
        celery = [os.path.join(bindir, "celery"), "-A", "config"]
        commands = {
            "asgi": [os.path.join(bindir, "uvicorn"), "config.asgi:application", "--host", host, "--port", str(port),
                     "--workers", str(asgi_workers), *settings.UVICORN_ARGS],
            "worker": [*celery, *WORKER_ARGS],
            "beat": [*celery, "beat", "-l", "info", "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME],
        }
        if settings.PARK_MQTT_URL:  # the park gates' broker: OneGrid's side of it runs with the stack
            commands["gate bridge"] = [sys.executable, str(settings.BASE_DIR / "manage.py"), "park_gate_bridge"]
        if settings.SENSOR_MQTT_URL:  # the water meters' broker: their readings come in through the meter bridge
            commands["meter bridge"] = [sys.executable, str(settings.BASE_DIR / "manage.py"), "meter_bridge"]
        self.seed()
        # The ASGI server loads the detectors at start (photo suggestions answer at once); the worker's children
        # load them on first use (loading PyTorch before a fork is asking for a hang).
        environments = {"asgi": {**os.environ, "VISION_PRELOAD": os.environ.get("VISION_PRELOAD", "1")}}
        processes = {name: subprocess.Popen(cmd, env=environments.get(name)) for name, cmd in commands.items()}
        base = f"http://{host}:{port}"
        self.stdout.write(self.style.SUCCESS(
            f"\nOneGrid ({settings.ONEGRID_ENV}) is starting:\n"
            f"  GraphQL     {base}/graphql/   (GraphiQL in the browser{'' if settings.DEBUG else ': off, DEBUG is off'})\n"
            f"  websocket   ws://{host}:{port}/graphql/  (graphql-transport-ws)\n"
            f"  health      {base}/healthz\n"
            f"  admin       {base}/admin/\n"
            + (f"  park gates  {settings.PARK_MQTT_URL} ({settings.PARK_MQTT_PREFIX}/...)\n" if settings.PARK_MQTT_URL
               else "")
            + (f"  meters      {settings.SENSOR_MQTT_URL} ({settings.SENSOR_MQTT_PREFIX}/<serial>/readings)\n"
               if settings.SENSOR_MQTT_URL else "")
        ))
        self.stdout.write("Press Ctrl-C to stop the server, the worker and beat.\n")
        stopping = False

        def stop(*_args):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with {process.returncode}; stopping the others")
                    exit_code = process.returncode or 1
                    stopping = True
            time.sleep(0.5)
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        if exit_code:
            sys.exit(exit_code)

    def seed(self) -> None:
        """The embedded demo seeds an empty database and prints its accounts; production is never seeded
        with demo accounts (its district comes from ``import_base_data``)."""
        if settings.PRODUCTION:
            self.stdout.write("Production mode: no demo data (load the district with manage.py import_base_data).")
            return
        call_command("seed_demo", "--if-empty")
