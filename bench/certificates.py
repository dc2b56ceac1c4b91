"""Certificates: the offline kit's verifications per second per core, and the public /verify/ page under load.

Measured in one run, on certificates the service itself issued into a scratch database:

1. ``certkit.verify`` (what a counter app or a gate runs: the envelope, COSE, the key by id, the signature, the
   times, the status in a synced list) over the issued codes, one core, CPU time, against the bare signature
   verification of the same library (python-cwt's ``COSEKey.verify`` over each code's prepared
   ``Sig_structure``).  Short runs of the two in turn, the order alternating; targets: >= 5,000 verifications
   per second per core (the bootstrap 95% interval of the median over the rounds at or above it) and >= 0.5x
   the bare verification (likewise);
2. the page a scanned code opens (``/V/<code>``, every request a different certificate, in Chinese) under
   concurrent load from ``wrk`` (``--connections``, default 8, over kept-alive connections), against a plain
   Django view on the same server and load (``/bench/ping``, bench/urls.py); uvicorn with one worker per
   core, as deployed; wrk pinned to the last core.  Target: p99 <= 20 ms (the interval of the median p99 over
   the rounds wholly below it).

    .venv/bin/python bench/certificates.py [--certificates 500] [--rounds 10] [--connections 8] [--duration 5]

Needs PostgreSQL (a scratch database of this run, ``onegrid_bench_certificates_<pid>_<random>``, dropped at the
end), ``wrk`` (Debian package ``wrk``) and ``taskset`` (util-linux).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

KIT_RATE_TARGET, KIT_RATIO_TARGET, PAGE_P99_TARGET_MS = 5000.0, 0.5, 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--certificates", type=int, default=500, help="certificates issued for the run")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of each comparison")
    parser.add_argument("--seconds", type=float, default=0.5, help="CPU seconds per kit or bare run")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections on the page")
    parser.add_argument("--rate", type=float, default=100, help="requests per second in all on the page")
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per wrk run")
    parser.add_argument("--only", default="kit,page", help="which parts to run (comma-separated)")
    parser.add_argument("--kit-in", help=argparse.SUPPRESS)  # the kit's own process (see _kit)
    args = parser.parse_args()
    if args.kit_in:
        sys.exit(0 if kit_process(Path(args.kit_in), args.rounds, args.seconds) else 1)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed: apt-get install {'wrk' if tool == 'wrk' else 'util-linux'}")
    from bench.scratch import scratch_database, server_url

    os.environ.setdefault("DATABASE_URL", server_url())
    port = common.free_port()
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database("certificates"))
        var = stack.enter_context(tempfile.TemporaryDirectory(prefix="onegrid-bench-certificates-"))
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
                   ONEGRID_VAR_DIR=var, CERTIFICATE_KEY_DIR=str(Path(var) / "keys"), DEBUG="0",
                   PUBLIC_URL=f"http://127.0.0.1:{port}", DJANGO_SETTINGS_MODULE="bench.settings",
                   LOG_LEVEL="WARNING")
        os.environ.update(env)
        print(f"scratch database {url.rsplit('/', 1)[1]}: migrating ...", flush=True)
        common.manage(env, "migrate", "-v", "0")
        sys.exit(0 if run(env, port, args) else 1)


def run(env: dict, port: int, args) -> bool:
    import django

    django.setup()
    codes = _issue(args.certificates)
    parts = set(args.only.split(","))
    verdicts = []
    if "kit" in parts:
        verdicts += _kit(codes, args)
    if "page" in parts:
        verdicts.append(_page(env, port, codes, args))
    return all(verdict == "PASS" for verdict in verdicts)


def _issue(count: int) -> list[str]:
    """``count`` certificates of the first seed case's kind, each to an organisation of its own, as the
    civil-affairs bureau issues them; their codes."""
    from accounts.models import Department, Role, User
    from approvals.identity import credit_code_check
    from approvals.models import LicenceKind
    from approvals.services import certificate_issue, holder_register

    civil = Department.objects.get(code="civil")
    staff = User.objects.create_user("bench-civil", role=Role.DEPARTMENT_STAFF, department=civil)
    kind = LicenceKind.objects.get(code="private_non_enterprise")
    started = time.perf_counter()
    codes = []
    for index in range(count):
        first17 = f"52370202MJ{index:07d}"
        holder = holder_register(kind="organisation", number=first17 + credit_code_check(first17),
                                 name=f"青岛第{index + 1}培训学校")
        fields = {"scope": "非学历文化教育培训", "address": f"青岛市市南区香港中路 {index + 1} 号",
                  "legal_representative": "王海", "funds": "50", "competent_authority": "市南区教育和体育局"}
        codes.append(certificate_issue(kind=kind, holder=holder, fields=fields, actor=staff).code)
    elapsed = time.perf_counter() - started
    print(f"{count} certificates issued in {elapsed:.1f} s ({elapsed / count * 1000:.1f} ms each: holder, number, "
          f"status-list entry, signature, history); codes of {min(map(len, codes))}-{max(map(len, codes))} characters")
    return codes


def _kit(codes: list[str], args) -> list[str]:
    """Publish what a counter app syncs (the JWK Set, the status list) and the codes, then measure in a process
    of the kit's own, without Django, as the app embeds it."""
    import json

    from approvals.keys import jwks
    from approvals.statuslist import status_list_token
    from certkit import TrustList, verify

    with tempfile.TemporaryDirectory(prefix="onegrid-bench-kit-") as folder:
        published = Path(folder)
        uri = verify(codes[0], trust=TrustList.from_jwks(jwks())).claims.status_uri
        token, _ttl = status_list_token(int(uri.rsplit("/", 1)[1]))
        (published / "jwks.json").write_text(json.dumps(jwks()))
        (published / "status.cwt").write_bytes(token)
        (published / "codes.json").write_text(json.dumps({"uri": uri, "codes": codes}))
        output = subprocess.run([sys.executable, __file__, "--kit-in", folder, "--rounds", str(args.rounds),
                                 "--seconds", str(args.seconds)], capture_output=True, text=True, cwd=ROOT)
    print(output.stdout, end="")
    if output.returncode not in (0, 1):
        raise SystemExit(f"the kit's process failed:\n{output.stderr}")
    return re.findall(r"-> (PASS|FAIL|UNDECIDED)", output.stdout)


def kit_process(folder: Path, rounds: int, seconds: float) -> bool:
    """The kit's measurement, in a process with no Django: what a counter app has synced, then the codes."""
    import json

    import cbor2

    from certkit import Status, StatusListToken, TrustList, envelope_decode, verify

    assert "django" not in sys.modules
    trust = TrustList.from_jwks(json.loads((folder / "jwks.json").read_text()))
    published = json.loads((folder / "codes.json").read_text())
    codes, uri = published["codes"], published["uri"]
    synced = {uri: StatusListToken.verify((folder / "status.cwt").read_bytes(), trust, uri=uri)}  # once per sync
    verdicts = [verify(code, trust=trust, status_lists=synced) for code in codes]
    assert all(found.status is Status.VALID for found in verdicts), {found.reason for found in verdicts}

    # the bare signature check: python-cwt's key over each code's Sig_structure (RFC 9052 section 4.4)
    bare_inputs = []
    for code, found in zip(codes, verdicts, strict=True):
        message = cbor2.loads(envelope_decode(code)).value
        to_be_signed = cbor2.dumps(["Signature1", message[0], b"", message[2]])
        bare_inputs.append((trust.key(found.kid), to_be_signed, message[3]))

    def kit_once() -> None:
        for code in codes:
            verify(code, trust=trust, status_lists=synced)

    def bare_once() -> None:
        for key, to_be_signed, signature in bare_inputs:
            key.verify(to_be_signed, signature)

    return common.kit_against_bare(
        kit_once=kit_once, bare_once=bare_once, per_call=len(codes), rounds=rounds, seconds=seconds,
        heading=(f"1. Offline verification (certkit.verify: envelope, COSE_Sign1, key by id, ES256 signature, times, "
                 f"status list) in a process without Django, one core (CPU {{cpu}}), {len(codes)} codes of "
                 f"{min(map(len, codes))}-{max(map(len, codes))} characters, {rounds} rounds of {seconds} s CPU each"),
        labels=("certkit.verify", "COSEKey.verify (bare signature)"), rate_target=KIT_RATE_TARGET,
        ratio_target=KIT_RATIO_TARGET)


def _page(env: dict, port: int, codes: list[str], args) -> str:
    from django.db import connection

    from approvals.codes import certificate_url

    paths = [urlsplit(certificate_url(code)).path for code in codes]
    connection.close()
    cpus = list(range(os.cpu_count() or 1))
    client_cpus = cpus[-1:]
    base = f"http://127.0.0.1:{port}"
    pause_ms = args.connections * 1000 / args.rate  # each connection's pause between requests
    scripts = {"page": _script(paths, pause_ms), "plain": _script(["/bench/ping"], pause_ms),
               "page at capacity": _script(paths, 0), "plain at capacity": _script(["/bench/ping"], 0)}
    server = subprocess.Popen(
        ["taskset", "-c", common.cpu_list(cpus), sys.executable, "-m", "uvicorn", "config.asgi:application",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(len(cpus)), "--no-access-log",
         "--log-level", "warning"], cwd=ROOT, env=env)
    runs: dict[str, list[dict]] = {name: [] for name in scripts}
    try:
        common.wait_for(f"{base}/healthz")
        os.sched_setaffinity(0, client_cpus)
        _check_page(base, paths[0])

        def load(name: str, seconds: int) -> dict:
            return common.wrk(base + "/", connections=args.connections, seconds=seconds, cpus=client_cpus,
                              script=scripts[name])

        load("page at capacity", 2), load("plain at capacity", 2)  # warm both
        for round_ in range(args.rounds):
            for name in ("page", "plain") if round_ % 2 == 0 else ("plain", "page"):
                runs[name].append(load(name, args.duration))
        for name in ("page at capacity", "plain at capacity"):
            runs[name].append(load(name, args.duration))
    finally:
        server.terminate()
        server.wait(10)
        for script in scripts.values():
            script.unlink()
    print(f"\n2. The page a scanned code opens (/V/<code>, {len(paths)} different certificates in turn, Chinese); "
          f"uvicorn x{len(cpus)} on CPU {common.cpu_list(cpus)}, wrk on CPU {common.cpu_list(client_cpus)}; "
          f"{args.connections} connections at {args.rate:.0f} requests/s in all, {args.rounds} rounds of "
          f"{args.duration} s each, in turn")
    for name, label in (("page", "/V/<code> (the verdict page)"), ("plain", "a plain Django view")):
        p50 = [run["p50"] for run in runs[name]]
        p99 = [run["p99"] for run in runs[name]]
        rps = [run["rps"] for run in runs[name]]
        print(f"   {label:<30} p50 {statistics.median(p50):6.2f} ms  p99 {statistics.median(p99):6.2f} ms "
              f"({min(p99):.2f}-{max(p99):.2f})  {statistics.median(rps):5.0f} req/s")
    found = common.interval([run["p99"] for run in runs["page"]], statistics.median)
    verdict = common.verdict(found, PAGE_P99_TARGET_MS)
    print(f"   target p99 <= {PAGE_P99_TARGET_MS:.0f} ms: 95% interval of the median p99 {found[0]:.2f}-{found[1]:.2f} ms "
          f"-> {verdict}")
    page, plain = runs["page at capacity"][0], runs["plain at capacity"][0]
    print(f"   (no target: the most the server answers, {args.connections} connections without pauses: the page "
          f"{page['rps']:.0f} req/s, p99 {page['p99']:.1f} ms; the plain view {plain['rps']:.0f} req/s, p99 "
          f"{plain['p99']:.1f} ms)")
    return verdict


def _script(paths: list[str], pause_ms: float) -> Path:
    """A wrk script that requests ``paths`` in turn, each connection pausing ``pause_ms`` between requests."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("paths = {" + ",".join(f'"{path}"' for path in paths) + "}\n"
                     "i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n")
        if pause_ms:
            script.write(f"delay = function() return {pause_ms:.1f} end\n")
    return Path(script.name)


def _check_page(base: str, path: str) -> None:
    """The page answers VALID for an issued code before it is loaded (a bench of error pages measures nothing)."""
    import urllib.request

    with urllib.request.urlopen(base + path, timeout=20) as response:
        body = response.read().decode()
    if 'data-status="VALID"' not in body:
        raise SystemExit(f"the verify page did not say VALID for an issued code:\n{body[:2000]}")


if __name__ == "__main__":
    main()
