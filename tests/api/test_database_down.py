"""A database that refuses connections is a quick, coded 503 for every request, not an HTML 500 after a stall.

A real production-mode server whose PostgreSQL address answers nothing (a port where nobody listens): the
refusal is what a client sees while the database restarts.  Runs in both halves (it needs no database at all).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from django.conf import settings

from tests.stack import free_port


@pytest.fixture(scope="module")
def server_without_database(tmp_path_factory):
    port = free_port()
    dead = free_port()  # nobody listens here: connections are refused at once
    log = tmp_path_factory.mktemp("dbdown") / "asgi.log"
    env = {**os.environ, "ONEGRID_ENV": "production", "SECRET_KEY": "s" * 50, "DEBUG": "0",
           "ALLOWED_HOSTS": "127.0.0.1", "REDIS_URL": "redis://127.0.0.1:1/0",
           "DATABASE_URL": f"postgres://onegrid@127.0.0.1:{dead}/onegrid",
           "ONEGRID_VAR_DIR": str(tmp_path_factory.mktemp("var")), "PYTHONPATH": str(settings.BASE_DIR)}
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                                    "--port", str(port), "--log-level", "warning", *settings.UVICORN_ARGS],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # listening is enough: /healthz itself waits on the missing services
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"server did not start:\n{log.read_text()}")
            time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(timeout=15)


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize("request_kind", ["anonymous", "with_token", "export"])
def test_every_request_gets_a_coded_503_within_seconds(server_without_database, request_kind):
    base = server_without_database
    token = {"Authorization": "Bearer oga_" + "A" * 43}
    calls = {
        "anonymous": lambda: httpx.post(f"{base}/graphql/", json={"query": "{ __typename }"}, timeout=30),
        "with_token": lambda: httpx.post(f"{base}/graphql/", json={"query": "{ me { username } }"}, headers=token,
                                         timeout=30),
        "export": lambda: httpx.get(f"{base}/exports/event-statistics.csv?groupBy=street", headers=token, timeout=30),
    }
    response, seconds = _timed(calls[request_kind])
    assert response.status_code == 503, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == "database_unavailable"
    assert response.headers.get("Retry-After")
    assert seconds < 5, f"answered after {seconds:.1f} s"
