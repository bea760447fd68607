"""What tenant isolation costs on the hottest read: ``GET /v1/notes/{id}``.

One run starts an embedded PostgreSQL, sets up the reference app's database with its own
command (``python -m reference_app setup``, through ``tenantprobe.stack.ReferenceStack``), seeds
``--tenants`` x ``--notes`` notes (two tags each), and serves the same read four ways, each its
own single-worker uvicorn process on loopback:

(a) ``isolation``: the reference app as shipped (``python -m reference_app serve``): JWT
    verification, the tenant unit of work (transaction + ``set_config('app.tenant_id')``), the
    tenant-status check and rate-limit charge, forced row-level security as ``pake_app``, the
    ``tenant_id`` filter; its tenant-keyed note cache made useless (one entry), so that every
    request reads the database like (b) and (c);
(a') ``cached``: the same with the note cache as configured by default, filled before the runs
    (for information: the goal compares (a) with (b));
(b) ``baseline``: the same app with that one route reading a single-tenant copy of the tables
    (``benchmarks/_baseline_app.py``): JWT verification kept; no transaction, no tenant check,
    no RLS, no tenant filter: one pooled autocommit ``SELECT`` by primary key;
(c) ``raw``: a bare ASGI callable + psycopg doing (b)'s ``SELECT`` (``benchmarks/_raw_app.py``):
    no FastAPI, no pydantic, no JWT.
(a2), (c2) ``workers``, ``raw-workers``: (a) and (c) served by ``--api-workers`` uvicorn processes
    (default 2; ``REFERENCE_APP_API_WORKERS`` for (a)): what several processes buy on this machine,
    and their ceiling. Their CPU is the supervisor's and every worker's.

A separate load-generator process (a minimal asyncio HTTP/1.1 keep-alive client, so that it
takes as little CPU from the servers as possible on a small machine) keeps ``--concurrency``
requests in flight for ``--seconds``, over random notes of random tenants, each with its
tenant's token. After a warm-up of every target, runs are interleaved (a, a', b, c, then
a', b, c, a, ...) for ``--rounds`` rounds and the medians are reported, with the CPU time the
server process and the PostgreSQL backends spent per request. See benchmarks/README.md.

    .venv/bin/python benchmarks/isolation_overhead.py [--seconds 3] [--concurrency 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tenantprobe.child import Child, NotReady, stop_all, wait_ready
from tenantprobe.errors import TargetError
from tenantprobe.load.stats import percentile

HERE = Path(__file__).resolve().parent
GOAL = 0.95
DATABASE = "pake_bench"
SINGLE_TENANT_ROLE = "bench_single_tenant"
SINGLE_TENANT_DSN_ENV = "BENCH_SINGLE_TENANT_DSN"  # as in _single_tenant.py

TARGETS = {
    "isolation": "(a) isolation on, cache off",
    "cached": "(a') isolation on, note cache on",
    "baseline": "(b) single-tenant baseline",
    "raw": "(c) raw ASGI + psycopg",
    "workers": "(a2) isolation on, N API processes",
    "raw-workers": "(c2) raw ASGI + psycopg, N processes",
}
# (a) reads the database on every request: the reference app's tenant-keyed note cache is made
# useless (one entry for ``--distinct`` notes), so that (a), (b) and (c) do the same indexed read.
CACHE_OFF = {"REFERENCE_APP_CACHE_MAX_ENTRIES": "1"}

SEED_SQL = """
insert into tenants (slug, name, plan)
    select 'bench-' || g, 'Bench tenant ' || g, 'pro' from generate_series(1, %(tenants)s) g;
insert into tags (tenant_id, name)
    select t.id, 'tag-' || g from tenants t, generate_series(0, 9) g;
insert into notes (tenant_id, title, body, author)
    select t.id, 'Note ' || g || ' of ' || t.slug,
           'A benchmark note body with a few dozen words so that the row and the JSON document '
           || 'have a realistic size: ' || repeat('lorem ipsum dolor sit amet ', 8) || g,
           'member@' || t.slug
    from tenants t, generate_series(1, %(notes)s) g;
insert into note_tags (tenant_id, note_id, tag_id)
    select n.tenant_id, n.id, tg.id
    from (select tenant_id, id, row_number() over (partition by tenant_id order by id) as rn from notes) n
    join tags tg on tg.tenant_id = n.tenant_id
               and tg.name in ('tag-' || (n.rn %% 10), 'tag-' || ((n.rn + 3) %% 10));
"""

# A single-tenant service's schema for the same rows: no tenant_id, id as the primary key, no RLS.
SINGLE_TENANT_SQL = """
drop schema if exists single_tenant cascade;
create schema single_tenant;
create table single_tenant.notes as
    select id, title, body, author, created_at, updated_at, search from public.notes;
alter table single_tenant.notes add primary key (id);
create table single_tenant.tags as select id, name from public.tags;
alter table single_tenant.tags add primary key (id);
create table single_tenant.note_tags as select note_id, tag_id from public.note_tags;
alter table single_tenant.note_tags add primary key (note_id, tag_id);
"""


# --------------------------------------------------------------------------- load generator


def _content_length(head: bytes) -> int:
    lowered = head.lower()
    start = lowered.find(b"\r\ncontent-length:")
    if start < 0:
        raise RuntimeError(f"response without content-length: {head[:200]!r}")
    start += len(b"\r\ncontent-length:")
    return int(lowered[start : lowered.index(b"\r\n", start)])


async def _generate_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Keep ``concurrency`` keep-alive connections busy; time requests that end inside the window."""
    host, port = spec["host"], spec["port"]
    requests = [request.encode("latin-1") for request in spec["requests"]]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    window_start = started + spec["warmup"]
    window_end = window_start + spec["seconds"]

    sweep = iter(requests) if spec.get("sweep") else None

    def next_request(rng: random.Random) -> bytes | None:
        if sweep is not None:
            return next(sweep, None)
        return rng.choice(requests) if time.perf_counter() < window_end else None

    async def connection(number: int) -> None:
        rng = random.Random(spec["seed"] * 1000 + number)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (request := next_request(rng)) is not None:
                sent = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(_content_length(head))
                done = time.perf_counter()
                if sweep is not None or window_start <= done < window_end:
                    latencies.append(done - sent)
                    statuses[int(head[9:12])] += 1
        finally:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()

    await asyncio.gather(*(connection(n) for n in range(spec["concurrency"])))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()
    count = len(latencies)

    def ms(percent: float) -> float:
        return percentile(latencies, percent) * 1000 if count else float("nan")

    return {
        "requests": count,
        "throughput": count / spec["seconds"] if spec["seconds"] else float("nan"),
        "p50_ms": ms(50),
        "p90_ms": ms(90),
        "p99_ms": ms(99),
        "max_ms": latencies[-1] * 1000 if count else float("nan"),
        "statuses": {str(status): n for status, n in statuses.items()},
        "client_cpu_s": usage.ru_utime + usage.ru_stime,
    }


def _load_worker() -> None:
    spec = json.load(sys.stdin)
    json.dump(asyncio.run(_generate_load(spec)), sys.stdout)


# --------------------------------------------------------------------------- set-up


@dataclass
class Server:
    name: str
    url: str
    child: Child | None = None  # None: started by ReferenceStack
    pid: int = 0
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80


def _spawn(name: str, script: str, env: dict[str, str], workdir: Path) -> Server:
    """A server process: ``script`` is a file next to this one, or ``-m module args``."""
    from tenantprobe.child import free_port

    port = free_port()
    file_or_module, *args = script.split()
    command = script.split() if script.startswith("-m ") else [str(HERE / file_or_module), *args]
    argv = [sys.executable, *command, "--host", "127.0.0.1", "--port", str(port)]
    child = Child(f"the {name} server", argv, workdir / f"{name}.log", env={**os.environ, **env}).start()
    return Server(name, f"http://127.0.0.1:{port}", child, child.pid)


def _wait_ready(server: Server, path: str, timeout: float = 60.0) -> None:
    import httpx

    def ready() -> bool:
        try:
            return httpx.get(server.url + path, timeout=1).status_code == 200
        except httpx.TransportError as exc:
            raise NotReady(str(exc)) from None

    assert server.child is not None
    try:
        wait_ready([server.child], ready, timeout, interval=0.1)
    except TargetError as exc:
        raise SystemExit(str(exc)) from None


def _database_dsn(admin_dsn: str, dbname: str) -> str:
    parts = urlsplit(admin_dsn)
    return parts._replace(path=f"/{dbname}").geturl()


def _seed(admin_dsn: str, tenants: int, notes: int) -> tuple[str, list[tuple[str, str]], Any]:
    """Seed the tenants' notes and copy them to ``single_tenant``.

    Returns that copy's DSN, the (tenant, note) ids, and the postmaster (a psutil.Process, found
    as the parent of the seeding backend; None when the server is not local).
    """
    import psycopg
    from psycopg import sql

    from reference_app.database import with_credentials

    password = secrets.token_urlsafe(24)
    with psycopg.connect(_database_dsn(admin_dsn, DATABASE), autocommit=True) as conn:
        with conn.transaction():
            for statement in filter(str.strip, SEED_SQL.split(";")):
                conn.execute(statement, {"tenants": tenants, "notes": notes})
            conn.execute(SINGLE_TENANT_SQL)
            role = sql.Identifier(SINGLE_TENANT_ROLE)
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (SINGLE_TENANT_ROLE,)).fetchone()
            conn.execute(
                sql.SQL("{} ROLE {} WITH LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD {}").format(
                    sql.SQL("ALTER" if exists else "CREATE"), role, sql.Literal(password)
                )
            )
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(DATABASE), role))
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA single_tenant TO {}").format(role))
            conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA single_tenant TO {}").format(role))
        conn.execute("vacuum analyze")
        ids = conn.execute("select tenant_id::text, id::text from notes order by tenant_id, id").fetchall()
        backend = conn.execute("select pg_backend_pid()").fetchone()
        postmaster = _parent_postgres(backend[0] if backend else 0)
    dsn = with_credentials(admin_dsn, SINGLE_TENANT_ROLE, password, DATABASE)
    return dsn, [(tenant, note) for tenant, note in ids], postmaster


def _parent_postgres(backend_pid: int) -> Any:
    """The parent of a live backend, if it is a local postgres process."""
    import psutil

    try:
        parent = psutil.Process(backend_pid).parent()
        return parent if parent is not None and "postgres" in parent.name() else None
    except (psutil.Error, ValueError):
        return None


def _cpu_seconds(process: Any) -> float:
    """The server process and its worker processes, if it has any."""
    import psutil

    total = 0.0
    for member in (process, *process.children(recursive=True)):
        with suppress(psutil.NoSuchProcess):
            times = member.cpu_times()
            total += float(times.user + times.system)
    return total


def _pg_cpu(postmaster: Any) -> dict[int, float]:
    import psutil

    if postmaster is None:
        return {}
    usage = {}
    for child in postmaster.children():
        with suppress(psutil.Error):
            usage[child.pid] = _cpu_seconds(child)
    return usage


def _requests(server: Server, ids: list[tuple[str, str]], tokens: dict[str, str]) -> list[str]:
    host = f"127.0.0.1:{server.port}"
    return [
        f"GET /v1/notes/{note} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {tokens[tenant]}\r\n\r\n"
        for tenant, note in ids
    ]


def _same_document(servers: list[Server], sample: tuple[str, str], tokens: dict[str, str]) -> None:
    """The three targets must answer the same note with the same document."""
    import httpx

    tenant, note = sample
    documents = []
    for server in servers:
        response = httpx.get(
            f"{server.url}/v1/notes/{note}", headers={"Authorization": f"Bearer {tokens[tenant]}"}, timeout=10
        )
        if response.status_code != 200:
            raise SystemExit(f"{server.name}: GET /v1/notes/{note} -> {response.status_code} {response.text[:300]}")
        document = response.json()
        for key in ("created_at", "updated_at"):
            document[key] = datetime.fromisoformat(document[key])
        documents.append(document)
    if any(document != documents[0] for document in documents[1:]):
        raise SystemExit(f"the targets disagree on note {note}: {documents}")


# --------------------------------------------------------------------------- measuring


def _run_load(
    server: Server,
    requests: list[str],
    seconds: float,
    warmup: float,
    concurrency: int,
    seed: int,
    sweep: bool = False,
) -> Any:
    """One load-generator process against one server; ``sweep`` sends every request once instead."""
    spec = {
        "sweep": sweep,
        "host": "127.0.0.1",
        "port": server.port,
        "requests": requests,
        "seconds": seconds,
        "warmup": warmup,
        "concurrency": concurrency,
        "seed": seed,
    }
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--load-worker"],
        input=json.dumps(spec).encode(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"load generator failed against {server.name}:\n{done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout)


def _measure(
    server: Server, requests: list[str], postmaster: Any, args: argparse.Namespace, seed: int
) -> dict[str, Any]:
    import psutil

    process = psutil.Process(server.pid)
    server_before, pg_before = _cpu_seconds(process), _pg_cpu(postmaster)
    result: dict[str, Any] = _run_load(server, requests, args.seconds, args.run_warmup, args.concurrency, seed)
    server_after, pg_after = _cpu_seconds(process), _pg_cpu(postmaster)
    # CPU over warm-up + window, divided by the requests of the window only: scale by the window share.
    share = args.seconds / (args.seconds + args.run_warmup)
    per_request = max(result["requests"], 1)
    result["server_cpu_us"] = (server_after - server_before) * share / per_request * 1e6
    if postmaster is not None:
        pg_seconds = sum(after - pg_before.get(pid, 0.0) for pid, after in pg_after.items())
        result["pg_cpu_us"] = pg_seconds * share / per_request * 1e6
    else:
        result["pg_cpu_us"] = float("nan")
    result["client_cpu_us"] = result["client_cpu_s"] / per_request * 1e6
    return result


def _jwt_cost(key_file: Path, token: str) -> tuple[float, float]:
    """Microseconds per ``TokenVerifier.verify`` of one of the benchmark's tokens, in process: a full
    RS256 verification (a verifier that remembers nothing), and a token the verifier has seen."""
    from reference_app.auth import SigningKey, TokenSettings, TokenVerifier

    key, settings = SigningKey.from_pem(key_file.read_bytes()), TokenSettings("pake-dev", "pake-api")
    costs = []
    for verifier in (TokenVerifier([key], settings, cache_entries=0), TokenVerifier([key], settings)):
        for _ in range(200):
            verifier.verify(token)
        rounds = 2000
        started = time.perf_counter()
        for _ in range(rounds):
            verifier.verify(token)
        costs.append((time.perf_counter() - started) / rounds * 1e6)
    return costs[0], costs[1]


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def _report(servers: list[Server], args: argparse.Namespace, jwt_us: tuple[float, float]) -> dict[str, Any]:
    header = (
        f"{'target':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'server CPU':>11} {'PG CPU':>9} {'client CPU':>11} {'non-200':>8}"
    )
    print()
    print(
        f"GET /v1/notes/{{id}}: {args.rounds} rounds x {args.seconds:g} s per target, "
        f"concurrency {args.concurrency}; medians over rounds; CPU in µs per request"
    )
    print(header)
    print("-" * len(header))
    summary: dict[str, Any] = {}
    for server in servers:
        bad = sum(n for run in server.runs for status, n in run["statuses"].items() if status != "200")
        row = {
            "throughput": _median(server.runs, "throughput"),
            "p50_ms": _median(server.runs, "p50_ms"),
            "p99_ms": _median(server.runs, "p99_ms"),
            "server_cpu_us": _median(server.runs, "server_cpu_us"),
            "pg_cpu_us": _median(server.runs, "pg_cpu_us"),
            "client_cpu_us": _median(server.runs, "client_cpu_us"),
            "non_200": bad,
            "throughput_per_round": [round(run["throughput"], 1) for run in server.runs],
        }
        summary[server.name] = row
        print(
            f"{TARGETS[server.name]:<34} {row['throughput']:>8.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['server_cpu_us']:>11.0f} {row['pg_cpu_us']:>9.0f} {row['client_cpu_us']:>11.0f} {bad:>8}"
        )
    by_name = {server.name: server for server in servers}

    def ratio(top: str, bottom: str) -> tuple[float, float]:
        overall = summary[top]["throughput"] / summary[bottom]["throughput"]
        per_round = statistics.median(
            a["throughput"] / b["throughput"] for a, b in zip(by_name[top].runs, by_name[bottom].runs, strict=True)
        )
        return overall, per_round

    pairs: tuple[tuple[str, str], ...] = (
        ("isolation", "baseline"),
        ("cached", "baseline"),
        ("isolation", "raw"),
        ("baseline", "raw"),
    )
    if "workers" in by_name:
        pairs += (("workers", "isolation"), ("workers", "raw-workers"), ("raw-workers", "raw"), ("workers", "baseline"))
    ratios = {f"{a}/{b}": ratio(a, b) for a, b in pairs}
    print()
    print("throughput ratios (ratio of medians; median of per-round ratios in brackets):")
    for name, (overall, per_round) in ratios.items():
        top, bottom = name.split("/")
        goal = ""
        if name == "isolation/baseline":
            goal = f"   goal >= {GOAL:.2f}: {'met' if overall >= GOAL else 'NOT met'}"
        print(f"  {top:>11} / {bottom:<11} {overall:6.3f}  [{per_round:.3f}]{goal}")
    cpu = {name: summary[name]["server_cpu_us"] + summary[name]["pg_cpu_us"] for name in summary}
    print(
        "server + PostgreSQL CPU per request, relative to the baseline (less sensitive to a busy machine): "
        + ", ".join(f"{name} {cpu[name] / cpu['baseline']:.2f}" for name in summary)
    )
    print(f"JWT verification (RS256, in process): {jwt_us[0]:.0f} µs per token, {jwt_us[1]:.1f} µs once seen")
    return {
        "targets": summary,
        "ratios": {name: {"of_medians": o, "median_per_round": p} for name, (o, p) in ratios.items()},
        "cpu_relative_to_baseline": {name: cpu[name] / cpu["baseline"] for name in summary},
        "jwt_verify_us": jwt_us[0],
        "jwt_verify_seen_us": jwt_us[1],
    }


# --------------------------------------------------------------------------- main


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tenantprobe.pgserver import PostgresServer

    with PostgresServer() as server:
        yield server.address.dsn()


def _benchmark(args: argparse.Namespace) -> None:
    from reference_app.auth import SigningKey, TokenSettings, mint_token
    from tenantprobe.child import free_port
    from tenantprobe.stack import ReferenceStack

    started = time.monotonic()
    load_before = os.getloadavg()
    print(f"reference app: {_revision()}; load average {load_before[0]:.2f}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="isolation-overhead-"))
    servers: list[Server] = []
    finished = False
    with _database(os.environ.get("DATABASE_URL")) as admin_dsn:
        port = free_port()
        stack = ReferenceStack(
            database_url=admin_dsn, database_name=DATABASE, port=port, log_dir=workdir, extra_env=CACHE_OFF
        )
        try:
            stack.start()
            print(f"reference app up ({time.monotonic() - started:.1f} s); seeding", flush=True)
            single_dsn, ids, postmaster = _seed(admin_dsn, args.tenants, args.notes)
            env = {**stack.app_env, SINGLE_TENANT_DSN_ENV: single_dsn}
            cache_on = {key: value for key, value in stack.app_env.items() if key not in CACHE_OFF}
            servers = [
                Server("isolation", stack.base_url, pid=stack.pids()["api"][0]),
                _spawn("cached", "-m reference_app serve", cache_on, workdir),
                _spawn("baseline", "_baseline_app.py", env, workdir),
                _spawn("raw", "_raw_app.py", {SINGLE_TENANT_DSN_ENV: single_dsn}, workdir),
            ]
            if args.api_workers > 1:
                workers = {**stack.app_env, "REFERENCE_APP_API_WORKERS": str(args.api_workers)}
                servers.append(_spawn("workers", "-m reference_app serve", workers, workdir))
                raw_env = {SINGLE_TENANT_DSN_ENV: single_dsn}
                servers.append(_spawn("raw-workers", f"_raw_app.py --workers {args.api_workers}", raw_env, workdir))
            for server in servers[1:]:
                _wait_ready(server, "/healthz")
            key = SigningKey.from_pem(stack.key_file.read_bytes())
            settings = TokenSettings(issuer="pake-dev", audience="pake-api")
            tokens = {
                tenant: mint_token(
                    key, settings, subject="member@bench", tenant_id=tenant, roles=["member"], ttl_seconds=6 * 3600
                )
                for tenant in sorted({tenant for tenant, _ in ids})
            }
            rng = random.Random(args.seed)
            sample = [rng.choice(ids) for _ in range(args.distinct)]
            _same_document(servers, sample[0], tokens)
            requests = {server.name: _requests(server, sample, tokens) for server in servers}
            print(
                f"{len(tokens)} tenants x {args.notes} notes seeded; server pids "
                + ", ".join(f"{s.name}={s.pid}" for s in servers)
                + f"; postmaster {postmaster.pid if postmaster else 'not local'}; "
                f"warming up ({time.monotonic() - started:.1f} s)",
                flush=True,
            )
            for server in servers:
                # Every distinct note once (fills the note cache of (a')), then the warm-up proper.
                _run_load(server, requests[server.name], 0.0, 0.0, args.concurrency, seed=0, sweep=True)
                _run_load(server, requests[server.name], args.warmup, 0.0, args.concurrency, seed=0)
            for round_number in range(args.rounds):
                shift = round_number % len(servers)
                for server in servers[shift:] + servers[:shift]:
                    run = _measure(server, requests[server.name], postmaster, args, seed=round_number + 1)
                    server.runs.append(run)
                    print(
                        f"round {round_number + 1}/{args.rounds} {server.name:<9} {run['throughput']:7.0f} req/s "
                        f"p50 {run['p50_ms']:6.2f} ms p99 {run['p99_ms']:6.2f} ms "
                        f"server {run['server_cpu_us']:5.0f} µs/req PG {run['pg_cpu_us']:5.0f} µs/req",
                        flush=True,
                    )
            jwt_us = _jwt_cost(stack.key_file, next(iter(tokens.values())))
            result = _report(servers, args, jwt_us)
            finished = True
        finally:
            stop_all([server.child for server in servers if server.child is not None])
            stack.stop()
            if finished:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                print(f"server logs kept in {workdir}", file=sys.stderr)
    result["settings"] = {
        key: getattr(args, key) for key in ("seconds", "concurrency", "rounds", "warmup", "tenants", "notes")
    }
    load_after = os.getloadavg()
    result["machine"] = {"nproc": os.cpu_count(), "cpu": _cpu_model(), "load_before": load_before[0]}
    result["machine"]["load_after"] = load_after[0]
    result["reference_app"] = _revision()
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    print(
        f"\nmachine: {os.cpu_count()} CPUs, {_cpu_model()}; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after; whole run {result['elapsed_s']:.0f} s"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")


def _revision() -> str:
    """The commit the reference app was served from, and whether its files differed from it."""
    repo = HERE.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "reference_app"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"commit {commit}" + (" with uncommitted changes in reference_app/" if dirty else "")


def _cpu_model() -> str:
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run (default 3)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of every target (default 5)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per target before round 1")
    parser.add_argument("--run-warmup", type=float, default=0.5, help="unmeasured seconds at the start of a run")
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--notes", type=int, default=1000, help="notes per tenant")
    parser.add_argument("--distinct", type=int, default=1000, help="distinct (tenant, note) pairs requested")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--api-workers",
        type=int,
        default=2,
        help="also serve (a) and (c) with this many processes, as (a2) and (c2); 1 for none (default 2)",
    )
    parser.add_argument("--load-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_worker:
        _load_worker()
    else:
        _benchmark(args)


if __name__ == "__main__":
    main()
