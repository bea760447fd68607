"""The reference app under faults, as figures: what was acknowledged, what is there, how long it
took to serve again, and what the clients were answered meanwhile.

    .venv/bin/python benchmarks/reliability_soak.py [--tenants 3] [--outage 2] [--flood 40] [--json out.json]

Starts the reference app on its own embedded PostgreSQL (loopback only) and runs four faults
one after the other, each bounded in requests and seconds:

1. PostgreSQL crash: two writers per tenant post notes with 12 tags each; PostgreSQL is shut
   down immediately (SIGQUIT), kept down ``--outage`` seconds and started again on the same data.
2. API SIGKILL: the same writers, plus restores through ``POST /v1/admin/imports``; the API is
   killed and started again.
3. Worker SIGKILL mid-export and mid-import; the worker is started again.
4. Pool exhaustion: one big tenant keeps ``--flood`` note counts in flight (five times the
   pool), from a process of its own, while quiet tenants send one request after another; their
   latency is compared with the same requests without the flood.

Clients never retry, so a duplicate could only come from the app. No assertions: the tests in
tests/reference_app/test_reliability.py hold the properties; this prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
import uuid
from collections import Counter
from multiprocessing import Process, Queue
from typing import Any

import httpx
import psycopg

from reference_app.auth import SigningKey, TokenSettings, mint_token
from tenantprobe.stack import ReferenceStack

SETTINGS = TokenSettings(issuer="pake-dev", audience="pake-api")
TAGS = [f"tag{i}" for i in range(12)]
ENV = {
    "REFERENCE_APP_DB_POOL_SIZE": "8",
    "REFERENCE_APP_JOB_LEASE_SECONDS": "2",
    "REFERENCE_APP_WORKER_POLL_SECONDS": "0.2",
}


class Bench:
    def __init__(self, stack: ReferenceStack) -> None:
        self.stack = stack
        self.key = SigningKey.from_pem(stack.key_file.read_bytes())
        self.platform = self.bearer(None, "platform_admin")
        self.http = httpx.Client(base_url=stack.base_url, timeout=30)
        assert stack.dsns is not None
        self.dsn = stack.dsns.platform

    def bearer(self, tenant_id: str | None, role: str) -> dict[str, str]:
        token = mint_token(self.key, SETTINGS, subject=f"soak-{role}", tenant_id=tenant_id, roles=[role])
        return {"Authorization": f"Bearer {token}"}

    def tenant(self, notes: int = 0) -> str:
        """A new tenant, with ``notes`` notes written straight into the database (far faster than the API)."""
        slug = f"s-{uuid.uuid4().hex[:10]}"
        response = self.http.post("/v1/admin/tenants", json={"slug": slug, "name": slug}, headers=self.platform)
        response.raise_for_status()
        tenant_id = str(response.json()["id"])
        if notes:
            with psycopg.connect(self.dsn) as conn:
                conn.execute(
                    "insert into notes (tenant_id, title, body, author) "
                    "select %s, 'n' || i, 'body', 'seed' from generate_series(1, %s) i",
                    (tenant_id, notes),
                )
        return tenant_id

    def wait_job(self, url: str, headers: dict[str, str], timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.http.get(url, headers=headers).json()
            if job["status"] in ("succeeded", "failed"):
                return job
            time.sleep(0.02)
        raise SystemExit(f"job at {url} did not finish in {timeout} s")

    def job_status(self, job_id: str) -> tuple[str, int]:
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute("select status, attempts from jobs where id = %s", (job_id,)).fetchone()
        assert row is not None
        return str(row[0]), int(row[1])


class Writers:
    """Two writer threads per tenant, each posting up to ``limit`` notes until stopped."""

    def __init__(self, bench: Bench, tenants: list[str], limit: int = 2000) -> None:
        self.acked: list[str] = []
        self.unacked: list[str] = []
        self.statuses: Counter[str] = Counter()
        self.leaky = 0  # error answers that were not problem+json with Retry-After
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, args=(bench, bench.bearer(t, "member"), limit))
            for t in tenants
            for _ in range(2)
        ]

    def _write(self, bench: Bench, headers: dict[str, str], limit: int) -> None:
        with httpx.Client(base_url=bench.stack.base_url, timeout=10) as http:
            for _ in range(limit):
                if self._stop.is_set():
                    return
                marker = f"soak-{uuid.uuid4().hex}"
                try:
                    response = http.post("/v1/notes", json={"title": marker, "tags": TAGS}, headers=headers)
                except httpx.TransportError:
                    with self._lock:
                        self.statuses["no answer"] += 1
                        self.unacked.append(marker)
                    time.sleep(0.05)
                    continue
                with self._lock:
                    self.statuses[str(response.status_code)] += 1
                    (self.acked if response.is_success else self.unacked).append(marker)
                    problem = response.headers.get("content-type") == "application/problem+json"
                    if not response.is_success and not (problem and "retry-after" in response.headers):
                        self.leaky += 1

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def audit(self, dsn: str) -> dict[str, Any]:
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(
                "select n.title, (select count(*) from note_tags nt where nt.tenant_id = n.tenant_id "
                "and nt.note_id = n.id) from notes n where n.title = any(%s)",
                (self.acked + self.unacked,),
            ).fetchall()
        copies = Counter(title for title, _ in rows)
        return {
            "write_attempts": len(self.acked) + len(self.unacked),
            "writes_acknowledged": len(self.acked),
            "acknowledged_found": sum(1 for m in self.acked if m in copies),
            "acknowledged_lost": sum(1 for m in self.acked if m not in copies),
            "unacknowledged_found": sum(1 for m in self.unacked if m in copies),
            "duplicates": sum(1 for n in copies.values() if n > 1),
            "partial_notes": sum(1 for _, tags in rows if tags != len(TAGS)),
            "responses": dict(self.statuses),
            "error_responses_not_problem_json_with_retry_after": self.leaky,
        }


def database_crash(bench: Bench, tenants: list[str], outage: float) -> dict[str, Any]:
    server = bench.stack.database_server
    assert server is not None
    probe = bench.bearer(tenants[0], "member")
    with Writers(bench, tenants) as writers:
        time.sleep(1.0)
        server.crash()
        crashed = time.monotonic()
        down = bench.http.get("/v1/notes", headers=probe)
        ready_down = bench.http.get("/readyz").status_code
        time.sleep(max(0.0, outage - (time.monotonic() - crashed)))
        server.restart()
        back = time.monotonic()
        while bench.http.get("/v1/notes", headers=probe).status_code != 200:
            time.sleep(0.01)
        serving = time.monotonic() - back
        while bench.http.get("/readyz").status_code != 200:
            time.sleep(0.01)
        ready = time.monotonic() - back
        time.sleep(1.0)
    return {
        **writers.audit(bench.dsn),
        "outage_seconds": round(back - crashed, 3),
        "during_outage": {"GET /v1/notes": down.status_code, "/readyz": ready_down},
        "seconds_to_serve_after_database_back": round(serving, 3),
        "seconds_to_ready_after_database_back": round(ready, 3),
    }


def bundle(notes: int) -> dict[str, Any]:
    at = "2026-01-01T00:00:00+00:00"
    rows = [
        {"id": str(uuid.uuid4()), "title": f"r{i}", "body": "", "author": "a", "created_at": at, "updated_at": at}
        for i in range(notes)
    ]
    empty: dict[str, list[Any]] = {t: [] for t in ("users", "tags", "note_tags", "comments", "attachments")}
    return {
        "format": "pake-tenant-bundle",
        "version": 1,
        "source": {},
        "tables": {**empty, "notes": rows, "audit_log": []},
    }


def api_kill(bench: Bench, tenants: list[str]) -> dict[str, Any]:
    slugs: list[str] = []

    def restore() -> None:
        with httpx.Client(base_url=bench.stack.base_url, timeout=10) as http:
            for _ in range(100):
                slugs.append(f"r-{uuid.uuid4().hex[:10]}")
                try:
                    http.post(
                        "/v1/admin/imports",
                        json={"slug": slugs[-1], "name": "r", "bundle": bundle(200)},
                        headers=bench.platform,
                    )
                except httpx.TransportError:
                    return

    importer = threading.Thread(target=restore)
    with Writers(bench, tenants) as writers:
        importer.start()
        time.sleep(1.0)
        killed = time.monotonic()
        bench.stack.kill("api")
        importer.join()
        bench.stack.respawn("api")
        restarted = time.monotonic() - killed
    with psycopg.connect(bench.dsn) as conn:
        restores = conn.execute(
            "select t.id, j.id from tenants t left join jobs j on j.tenant_id = t.id where t.slug = any(%s)", (slugs,)
        ).fetchall()
    complete = 0
    for tenant_id, job_id in restores:
        if job_id is None:
            continue
        job = bench.wait_job(f"/v1/admin/tenants/{tenant_id}/jobs/{job_id}", bench.platform)
        with psycopg.connect(bench.dsn) as conn:
            count = conn.execute("select count(*) from notes where tenant_id = %s", (tenant_id,)).fetchone()
        complete += job["status"] == "succeeded" and count == (200,)
    return {
        **writers.audit(bench.dsn),
        "restores_accepted": len(restores),
        "restores_without_job": sum(1 for _, job in restores if job is None),
        "restores_complete": complete,
        "seconds_from_kill_to_ready_again": round(restarted, 3),
    }


def worker_kill(bench: Bench, kind: str, big: int) -> dict[str, Any]:
    if kind == "export":
        tenant = bench.tenant(notes=big)
        headers = bench.bearer(tenant, "admin")
        job_id = bench.http.post("/v1/exports", headers=headers).json()["id"]
        url = f"/v1/exports/{job_id}"
    else:
        slug = f"k-{uuid.uuid4().hex[:10]}"
        accepted = bench.http.post(
            "/v1/admin/imports", json={"slug": slug, "name": "k", "bundle": bundle(big)}, headers=bench.platform
        ).json()
        tenant, job_id, headers = accepted["tenant"]["id"], accepted["job"]["id"], bench.platform
        url = f"/v1/admin/tenants/{tenant}/jobs/{job_id}"
    while bench.job_status(job_id)[0] != "running":
        time.sleep(0.01)
    time.sleep(0.2)
    bench.stack.kill("worker")
    at_kill = bench.job_status(job_id)[0]
    bench.stack.respawn("worker")
    respawned = time.monotonic()
    job = bench.wait_job(url, headers)
    done = time.monotonic() - respawned
    with psycopg.connect(bench.dsn) as conn:
        rows = conn.execute(
            "select count(*), count(distinct title) from notes where tenant_id = %s", (tenant,)
        ).fetchone()
        jobs = conn.execute("select count(*) from jobs where tenant_id = %s and kind = %s", (tenant, kind)).fetchone()
    assert rows is not None
    assert jobs is not None
    _, attempts = bench.job_status(job_id)
    return {
        "notes": big,
        "job_status_at_kill": at_kill,
        "job_status": job["status"],
        "attempts": attempts,
        "seconds_from_worker_restart_to_done": round(done, 3),
        "tenant_notes_after": rows[0],
        "duplicate_notes": rows[0] - rows[1],
        f"{kind}_jobs_of_tenant": jobs[0],
    }


async def _flood(base_url: str, headers: dict[str, str], flood: int, seconds: float) -> Counter[str]:
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=flood)) as http:

        async def one() -> None:
            while time.monotonic() < deadline:
                statuses[str((await http.get("/v1/notes/count", headers=headers)).status_code)] += 1

        await asyncio.gather(*(one() for _ in range(flood)))
    return statuses


def _flood_process(base_url: str, headers: dict[str, str], flood: int, seconds: float, out: Queue[Any]) -> None:
    out.put(dict(asyncio.run(_flood(base_url, headers, flood, seconds))))


def _quiet(base_url: str, quiet: list[dict[str, str]], seconds: float) -> tuple[list[float], Counter[str]]:
    """Quiet tenants in turn, one request at a time, from this process (the flood has its own)."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base_url, timeout=30) as http:
        while time.monotonic() < deadline:
            for headers in quiet:
                started = time.monotonic()
                response = http.get("/v1/notes", headers=headers)
                latencies.append(time.monotonic() - started)
                statuses[str(response.status_code)] += 1
            time.sleep(0.05)
    return latencies, statuses


def pool_exhaustion(bench: Bench, flood: int, seconds: float, big_notes: int) -> dict[str, Any]:
    big = bench.tenant(notes=big_notes)
    quiet = [bench.bearer(bench.tenant(), "member") for _ in range(3)]
    alone, alone_status = _quiet(bench.stack.base_url, quiet, seconds)
    out: Queue[Any] = Queue()
    flooder = Process(
        target=_flood_process, args=(bench.stack.base_url, bench.bearer(big, "member"), flood, seconds + 1, out)
    )
    flooder.start()
    time.sleep(1.0)  # the flood is in full swing
    flooded, flooded_status = _quiet(bench.stack.base_url, quiet, seconds)
    big_status = out.get(timeout=120)
    flooder.join()

    def ms(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "p50": round(1000 * statistics.median(ordered), 1),
            "p95": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1),
            "max": round(1000 * ordered[-1], 1),
        }

    return {
        "big_tenant_notes": big_notes,
        "flood_in_flight": flood,
        "quiet_alone_ms": ms(alone),
        "quiet_alone_responses": dict(alone_status),
        "quiet_during_flood_ms": ms(flooded),
        "quiet_during_flood_responses": dict(flooded_status),
        "big_tenant_responses": big_status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=3, help="writing tenants (two writers each)")
    # At least as long as the probe during the outage waits for a connection (5 s by default).
    parser.add_argument("--outage", type=float, default=2.0, help="seconds PostgreSQL stays down, at least")
    parser.add_argument("--flood", type=int, default=40, help="big tenant's requests in flight")
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    parser.add_argument("--big", type=int, default=20_000, help="notes of the exported / counted tenant")
    parser.add_argument(
        "--per-tenant", type=int, help="REFERENCE_APP_DB_CONNECTIONS_PER_TENANT (default: half the pool)"
    )
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    env = {**ENV, **({"REFERENCE_APP_DB_CONNECTIONS_PER_TENANT": str(args.per_tenant)} if args.per_tenant else {})}
    figures: dict[str, Any] = {"settings": env}
    with ReferenceStack(extra_env=env) as stack:
        bench = Bench(stack)
        tenants = [bench.tenant() for _ in range(args.tenants)]
        figures["database_crash"] = database_crash(bench, tenants, args.outage)
        figures["api_kill"] = api_kill(bench, tenants)
        figures["worker_kill_export"] = worker_kill(bench, "export", args.big)
        figures["worker_kill_import"] = worker_kill(bench, "import", args.big // 4)
        figures["pool_exhaustion"] = pool_exhaustion(bench, args.flood, args.flood_seconds, args.big)
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
