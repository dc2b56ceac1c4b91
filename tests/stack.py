"""Start the real thing for a test: uvicorn and a Celery worker as separate processes on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings

from tests.conftest import subprocess_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    def __init__(self, name: str, argv: list[str], log_dir: Path):
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(self.argv, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT,
                                      cwd=settings.BASE_DIR, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL: what a crash or an OOM kill does, no clean shutdown."""
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def asgi_process(name: str, port: int, log_dir: Path) -> Process:
    return Process(name, [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                          "--port", str(port), "--lifespan", "off", "--log-level", "warning"], log_dir)


def wait_healthy(process: Process, base: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                return
        except httpx.HTTPError:
            pass
        if process.popen.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"ASGI server {process.name} did not start:\n{process.log()}")


class Stack:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql/"
        self.asgi = asgi_process("asgi", self.port, log_dir)
        self.others: list[Process] = []
        self.worker = Process("worker", [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,vision",
                                         "-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
                                         "-l", "info"], log_dir)

    def start_asgi(self) -> None:
        self.asgi.start()
        wait_healthy(self.asgi, self.base)

    def start_another_asgi(self) -> str:
        """A second ASGI process, as production runs several; returns its base URL."""
        port = free_port()
        process = asgi_process(f"asgi-{len(self.others) + 2}", port, self.log_dir)
        self.others.append(process)
        process.start()
        base = f"http://127.0.0.1:{port}"
        wait_healthy(process, base)
        return base

    def graphql(self, query: str, variables: dict | None = None, token: str | None = None,
                base: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(f"{base or self.base}/graphql/", json={"query": query, "variables": variables or {}},
                              headers=headers, timeout=20)
        return response.json()

    @property
    def processes(self) -> list[Process]:
        return [self.asgi, *self.others, self.worker]

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
