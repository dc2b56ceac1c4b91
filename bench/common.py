"""What the benches share: a server's port and readiness, ``wrk`` runs pinned to a core, bootstrap intervals and
the verdict they give."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def interval(values, estimator, resamples: int = 4000) -> tuple[float, float]:
    """A bootstrap 95% interval of ``estimator`` over ``values`` (resampled with replacement)."""
    data = np.asarray(values, dtype=float)
    picks = np.random.default_rng(0).integers(0, len(data), (resamples, len(data)))
    estimates = np.array([estimator(data[pick]) for pick in picks])
    low, high = np.percentile(estimates, [2.5, 97.5])
    return float(low), float(high)


def verdict(found: tuple[float, float], target: float, *, at_least: bool = False) -> str:
    """PASS when the whole interval is on the target's good side, FAIL when wholly on the other, else UNDECIDED.
    The good side is at or below the target, or at or above it with ``at_least``."""
    low, high = found
    if at_least:
        return "PASS" if low >= target else "FAIL" if high < target else "UNDECIDED"
    return "PASS" if high <= target else "FAIL" if low > target else "UNDECIDED"


def wrk(url: str, *, connections: int, seconds: int, cpus: list[int], token: str | None = None,
        script: Path | None = None) -> dict:
    """One ``wrk`` run (one thread, pinned to ``cpus``): requests/s, the request count, p50 and p99 in ms."""
    argv = ["taskset", "-c", cpu_list(cpus), "wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    if script:
        argv += ["-s", str(script)]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"errors under load:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return {"rps": rps, "requests": requests, "p50": _ms(output, "50%"), "p99": _ms(output, "99%")}


def _ms(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wait_for(url: str) -> None:
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:  # answered (a health check may say 503 without a worker): it is up
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer at {url}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_list(cpus: list[int]) -> str:
    return ",".join(map(str, cpus))


def manage(env: dict, *command: str) -> None:
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
