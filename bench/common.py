"""What the benches share: a server's port and readiness, ``wrk`` runs pinned to a core, bootstrap intervals and
the verdict they give."""

from __future__ import annotations

import os
import re
import socket
import statistics
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


def kit_against_bare(*, kit_once, bare_once, per_call: int, rounds: int, seconds: float, heading: str,
                     labels: tuple[str, str], rate_target: float, ratio_target: float) -> bool:
    """An offline kit against the bare signature check of the same library, on one core, in CPU time: short runs
    of each in turn (``per_call`` verifications a call), the order alternating by round; prints ``heading``
    (``{cpu}`` names the core), each rate, and the verdicts on ``rate_target`` (per second) and ``ratio_target``
    (kit / bare) from the bootstrap intervals of their medians.  Whether both pass."""
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, [cpu])
    rates: dict[str, list[float]] = {"kit": [], "bare": []}
    for round_ in range(rounds):
        order = [("kit", kit_once), ("bare", bare_once)]
        for name, once in order if round_ % 2 == 0 else order[::-1]:
            rates[name].append(_rate(once, per_call, seconds))
    ratios = [kit / bare for kit, bare in zip(rates["kit"], rates["bare"], strict=True)]
    rate_interval = interval(rates["kit"], statistics.median)
    ratio_interval = interval(ratios, statistics.median)
    rate_verdict = verdict(rate_interval, rate_target, at_least=True)
    ratio_verdict = verdict(ratio_interval, ratio_target, at_least=True)
    print("\n" + heading.format(cpu=cpu))
    width = max(map(len, labels)) + 2
    for name, label in zip(("kit", "bare"), labels, strict=True):
        values = rates[name]
        print(f"   {label:<{width}} {statistics.median(values):8,.0f} /s per core ({min(values):,.0f}-{max(values):,.0f}); "
              f"{1e6 / statistics.median(values):6.1f} us each")
    print(f"   target >= {rate_target:,.0f}/s per core: 95% interval {rate_interval[0]:,.0f}-{rate_interval[1]:,.0f}/s "
          f"-> {rate_verdict}")
    print(f"   kit / bare {statistics.median(ratios):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratios)}); target "
          f">= {ratio_target}x: 95% interval {ratio_interval[0]:.2f}-{ratio_interval[1]:.2f}x -> {ratio_verdict}")
    return rate_verdict == ratio_verdict == "PASS"


def _rate(once, per_call: int, seconds: float) -> float:
    """Calls of ``once`` (``per_call`` verifications each) until ``seconds`` of CPU time: verifications per
    CPU second."""
    done, started = 0, time.process_time()
    while (elapsed := time.process_time() - started) < seconds:
        once()
        done += per_call
    return done / elapsed
