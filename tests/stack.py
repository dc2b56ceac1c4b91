"""Start the real thing for a test: uvicorn and a Celery worker as separate processes on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets
from django.conf import settings

from tests.conftest import subprocess_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict | None = None):
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self.env = env or {}
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(self.argv, env={**subprocess_env(), **self.env}, stdout=log,
                                      stderr=subprocess.STDOUT, cwd=settings.BASE_DIR, start_new_session=True)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen and self.popen.poll() is None else None

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

    def log(self, tail: int | None = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-tail:] if tail else text


def asgi_process(name: str, port: int, log_dir: Path, env: dict | None = None) -> Process:
    return Process(name, [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                          "--port", str(port), "--log-level", "warning", *settings.UVICORN_ARGS], log_dir, env)


class RedisServer:
    """A Redis of the test's own on a free port, so that a test may stop and restart it under a running stack."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = Process("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                                         "--save", "", "--appendonly", "no", "--dir", str(log_dir)], log_dir)

    def start(self, timeout: float = 10) -> None:
        import redis

        self.process.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start:\n{self.process.log()}")

    def stop(self) -> None:
        self.process.kill()


def production_env(redis_url: str) -> dict:
    """What a production deployment sets: ONEGRID_ENV=production, a real secret, errors masked, Redis."""
    return {"ONEGRID_ENV": "production", "SECRET_KEY": "test-production-secret-" + "x" * 32, "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "REDIS_URL": redis_url, "WEBSOCKET_ALLOWED_ORIGINS": ""}


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
    def __init__(self, log_dir: Path, env: dict | None = None):
        """``env``: what the server and worker processes get on top of the test's own settings."""
        self.log_dir = log_dir
        self.env = env or {}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql/"
        self.asgi = asgi_process("asgi", self.port, log_dir, self.env)
        self.others: list[Process] = []
        self.worker = Process("worker", [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,vision",
                                         "-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
                                         "-l", "info"], log_dir, self.env)

    def start_asgi(self) -> None:
        self.asgi.start()
        wait_healthy(self.asgi, self.base)

    def start_another_asgi(self) -> str:
        """A second ASGI process, as production runs several; returns its base URL."""
        port = free_port()
        process = asgi_process(f"asgi-{len(self.others) + 2}", port, self.log_dir, self.env)
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


def stack_running(log_dir: Path, env: dict | None = None):
    """A ``Stack`` for a fixture to yield: stopped afterwards, its processes' logs printed (pytest shows them
    for a failed test)."""
    running = Stack(log_dir, env=env)
    try:
        yield running
    finally:
        running.stop()
        for process in running.processes:
            print(f"--- {process.name} log ---\n{process.log()}")


SUBSCRIBE = "subscription($after: String) { changes(after: $after) { cursor kind objectType objectId } }"


class WsClient:
    def __init__(self, url: str, token: str):
        self.url, self.token = url, token
        self.conn = None

    async def __aenter__(self):
        self.conn = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"], open_timeout=10)
        await self.conn.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}))
        ack = json.loads(await asyncio.wait_for(self.conn.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        return self

    async def __aexit__(self, *exc):
        await self.conn.close()

    async def subscribe(self, after: str | None = None) -> None:
        await self.conn.send(json.dumps({"id": "feed", "type": "subscribe",
                                         "payload": {"query": SUBSCRIBE, "variables": {"after": after}}}))

    async def change(self, timeout: float = 30) -> dict:
        message = json.loads(await asyncio.wait_for(self.conn.recv(), timeout))
        assert message["type"] == "next", message
        return message["payload"]["data"]["changes"]

    async def silent(self, seconds: float) -> bool:
        try:
            message = await asyncio.wait_for(self.conn.recv(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")
