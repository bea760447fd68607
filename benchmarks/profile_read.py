"""Where one ``GET /v1/notes/{id}`` of the reference app spends its time: a cProfile of the API process.

Sets up the database and the load as ``isolation_overhead.py`` does (embedded PostgreSQL,
``--tenants`` x ``--notes`` notes, target (a): note cache off; ``--target baseline``: its
single-tenant baseline (b), to set the two profiles side by side), but serves the API under
a CPU-time cProfile (``time.process_time``, so time the process spent descheduled on a busy
machine is not counted) that SIGUSR1 turns on after the warm-up and SIGUSR2 writes out after
``--seconds`` of load with the same load generator (so start-up is not in it), and prints:

- CPU per request of the API process, split into user (Python and C extensions) and system
  (kernel: sockets, epoll), and of the PostgreSQL backends, from ``/proc``;
- the profile's self time grouped by the package the function lives in (uvicorn, FastAPI and
  Starlette, pydantic, psycopg, asyncio, the reference app, ...), per request;
- the functions with the most self time.

cProfile's own overhead inflates the Python share, so read the groups as proportions, and the
``/proc`` CPU figures of the uninstrumented ``isolation_overhead.py`` runs as the absolute cost.

    .venv/bin/python benchmarks/profile_read.py [--seconds 10] [--concurrency 16] [--target baseline]
"""

from __future__ import annotations

import argparse
import os
import pstats
import random
import signal
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import isolation_overhead as overhead
import psutil

# The API under a profiler that signals switch on and write out (``serve`` keeps SIGINT and SIGTERM):
# ``python -c PROFILED_SERVE PROFILE SCRIPT ARGS...``, SCRIPT a file or ``-m`` and a module.
PROFILED_SERVE = """
import cProfile, runpy, signal, sys, time
profile, output = cProfile.Profile(time.process_time), sys.argv[1]
signal.signal(signal.SIGUSR1, lambda *_: profile.enable())
signal.signal(signal.SIGUSR2, lambda *_: (profile.disable(), profile.dump_stats(output)))
if sys.argv[2] == "-m":
    sys.argv = [sys.argv[3], *sys.argv[4:]]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")
"""
# What each target serves: (a) the reference app as shipped, (b) the single-tenant baseline.
SERVE = {"isolation": ["-m", "reference_app", "serve"], "baseline": [str(overhead.HERE / "_baseline_app.py")]}

# First match wins: a function's file path -> the group its self time is counted in.
GROUPS = (
    ("/psycopg_pool/", "psycopg_pool"),
    ("/psycopg/", "psycopg"),
    ("/uvicorn/", "uvicorn (HTTP parsing, ASGI)"),
    ("/h11/", "uvicorn (HTTP parsing, ASGI)"),
    ("/httptools/", "uvicorn (HTTP parsing, ASGI)"),
    ("/fastapi/", "FastAPI + Starlette"),
    ("/starlette/", "FastAPI + Starlette"),
    ("/pydantic", "pydantic"),
    ("/jwt/", "JWT"),
    ("/cryptography/", "JWT"),
    ("/prometheus_client/", "prometheus_client"),
    ("/reference_app/", "reference app"),
    ("/asyncio/", "asyncio event loop"),
    ("/selectors.py", "asyncio event loop"),
    ("/logging/", "logging"),
)


def _group(filename: str, function: str) -> str:
    for marker, group in GROUPS:
        if marker in filename:
            return group
    if filename == "~":  # built-ins: socket calls, json, dict/str methods
        return "built-ins (C): " + (
            "socket/select" if any(w in function for w in ("send", "recv", "poll")) else "other"
        )
    return "other Python"


def _report(profile: Path, requests: int) -> None:
    stats = pstats.Stats(str(profile))
    by_group: dict[str, float] = defaultdict(float)
    rows = []
    for (filename, _line, function), (_cc, _nc, self_time, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_group[_group(filename, function)] += self_time
        rows.append((self_time, f"{Path(filename).name}:{function}"))
    total = sum(by_group.values())
    print(f"\nprofile self time per request, by package ({requests} requests, profiled total {total:.2f} s):")
    for group, seconds in sorted(by_group.items(), key=lambda item: -item[1]):
        print(f"  {group:<38} {seconds / requests * 1e6:7.0f} µs  {seconds / total:6.1%}")
    print("\nfunctions with the most self time (µs per request):")
    for self_time, name in sorted(rows, reverse=True)[:25]:
        print(f"  {self_time / requests * 1e6:7.1f}  {name}")


def main() -> None:
    from reference_app.auth import SigningKey, TokenSettings, mint_token
    from tenantprobe.child import Child, free_port
    from tenantprobe.stack import ReferenceStack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--target", choices=sorted(SERVE), default="isolation", help="(a) or (b) (default isolation)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="profile-read-"))
    profile = workdir / "api.prof"
    with overhead._database(os.environ.get("DATABASE_URL")) as admin_dsn:
        stack = ReferenceStack(
            database_url=admin_dsn, database_name=overhead.DATABASE, port=free_port(), log_dir=workdir
        )
        stack.start()  # sets up the database; its own API is left idle
        try:
            single_dsn, ids, postmaster = overhead._seed(admin_dsn, args.tenants, args.notes)
            env = {**stack.app_env, **overhead.CACHE_OFF, overhead.SINGLE_TENANT_DSN_ENV: single_dsn}
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(overhead.HERE), os.environ.get("PYTHONPATH")]))
            port = free_port()
            argv = [sys.executable, "-c", PROFILED_SERVE, str(profile), *SERVE[args.target]]
            argv += ["--host", "127.0.0.1", "--port", str(port)]
            name = f"the profiled {args.target} API"
            process = Child(name, argv, workdir / "profiled.log", env={**os.environ, **env}).start()
            server = overhead.Server("profiled", f"http://127.0.0.1:{port}", process, process.pid)
            overhead._wait_ready(server, "/healthz")
            key = SigningKey.from_pem(stack.key_file.read_bytes())
            settings = TokenSettings(issuer="pake-dev", audience="pake-api")
            tokens = {
                tenant: mint_token(key, settings, subject="member@bench", tenant_id=tenant, roles=["member"])
                for tenant in sorted({tenant for tenant, _ in ids})
            }
            rng = random.Random(16)
            requests = overhead._requests(server, [rng.choice(ids) for _ in range(1000)], tokens)
            overhead._run_load(server, requests, 0.0, 0.0, args.concurrency, seed=0, sweep=True)
            api = psutil.Process(process.pid)
            process.send_signal(signal.SIGUSR1)
            before, pg_before = api.cpu_times(), overhead._pg_cpu(postmaster)
            result = overhead._run_load(server, requests, args.seconds, 0.0, args.concurrency, seed=1)
            after, pg_after = api.cpu_times(), overhead._pg_cpu(postmaster)
            process.send_signal(signal.SIGUSR2)
            while not profile.is_file():
                time.sleep(0.1)
            served = max(int(result["requests"]), 1)
            pg_seconds = sum(value - pg_before.get(pid, 0.0) for pid, value in pg_after.items())
            print(
                f"target {args.target}: {served} requests in {args.seconds:g} s under the profiler "
                f"({result['throughput']:.0f} req/s); "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            print(
                f"CPU per request: API user {(after.user - before.user) / served * 1e6:.0f} µs, "
                f"API system (kernel) {(after.system - before.system) / served * 1e6:.0f} µs, "
                f"PostgreSQL backends {pg_seconds / served * 1e6:.0f} µs"
            )
            process.stop()
        finally:
            stack.stop()
    _report(profile, served)


if __name__ == "__main__":
    main()
