"""The reference app under faults, on the real stack: PostgreSQL crashing mid-load, the API and the
worker killed with SIGKILL, one tenant exhausting the connection pool.

Jepsen's rule is the oracle: a write the API acknowledged (2xx) is there afterwards, exactly once;
a write it did not acknowledge may be there or not, but never in part. Clients do not retry, so a
duplicate could only come from the app itself.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from tenantprobe.stack import ReferenceStack
from tests.reference_app.conftest import Tenant
from tests.reference_app.test_jobs import wait_for

PROBLEM_JSON = "application/problem+json"
TAGS = [f"tag{i}" for i in range(12)]  # most of a note's write is its tags: a kill lands among them
# Internals that must never reach a client: a stack trace, a driver or pool name, a SQLSTATE.
LEAKS = re.compile(r"Traceback|psycopg|PoolTimeout|OperationalError|SQLSTATE|\b[0-9A-Z]{2}[0-9]{3}\b")
BIG_TENANT_NOTES = 20_000


@pytest.fixture(scope="module")
def api() -> Iterator[ReferenceStack]:
    """Its own PostgreSQL (the tests crash it) and short waits, so that a run stays short."""
    env = {
        "REFERENCE_APP_DB_POOL_SIZE": "8",  # 4 connections per tenant
        "REFERENCE_APP_DB_ACQUIRE_TIMEOUT_SECONDS": "1",
        "REFERENCE_APP_JOB_LEASE_SECONDS": "1",
        "REFERENCE_APP_WORKER_POLL_SECONDS": "0.2",
    }
    with ReferenceStack(extra_env=env) as stack:
        yield stack


@dataclass
class Writes:
    """What concurrent writers sent, and what the API answered."""

    acknowledged: list[str] = field(default_factory=list)
    unacknowledged: list[str] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)
    bad_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, marker: str, response: httpx.Response | None) -> None:
        with self.lock:
            if response is None:
                self.statuses["no answer"] += 1
                self.unacknowledged.append(marker)
                return
            self.statuses[response.status_code] += 1
            if response.is_success:
                self.acknowledged.append(marker)
                return
            self.unacknowledged.append(marker)
            if problem := problem_defect(response, 503):
                self.bad_errors.append(f"{response.status_code}: {problem}")


def problem_defect(response: httpx.Response, status: int) -> str | None:
    """What is wrong with an error answer, or None for a clean ``status`` problem+json with Retry-After."""
    if response.status_code != status:
        return f"status {response.status_code}, expected {status}: {response.text[:200]}"
    if response.headers.get("content-type") != PROBLEM_JSON:
        return f"content-type {response.headers.get('content-type')}"
    if "retry-after" not in response.headers:
        return "no Retry-After"
    if LEAKS.search(response.text):
        return f"internal detail in {response.text[:200]}"
    return None


def write_notes(base_url: str, tenants: list[Tenant], stop: threading.Event, writes: Writes, limit: int) -> None:
    """Two writers per tenant, each posting notes (with tags) until ``stop`` or ``limit`` notes."""

    def writer(tenant: Tenant, lane: int) -> None:
        headers = tenant.headers()
        with httpx.Client(base_url=base_url, timeout=10) as http:
            for n in range(limit):
                if stop.is_set():
                    return
                marker = f"w-{tenant.slug}-{lane}-{n}-{uuid.uuid4().hex[:8]}"
                try:
                    response: httpx.Response | None = http.post(
                        "/v1/notes", json={"title": marker, "tags": TAGS}, headers=headers
                    )
                except httpx.TransportError:
                    response = None
                    time.sleep(0.05)  # the API is down: do not spin
                writes.record(marker, response)

    threads = [threading.Thread(target=writer, args=(t, lane)) for t in tenants for lane in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def notes_by_marker(platform_dsn: str, markers: list[str]) -> dict[str, list[int]]:
    """Each marker → the tag count of every note titled with it (two entries: a duplicate)."""
    found: dict[str, list[int]] = {}
    with psycopg.connect(platform_dsn) as conn:
        rows = conn.execute(
            "select n.title, (select count(*) from note_tags nt where nt.tenant_id = n.tenant_id "
            "and nt.note_id = n.id) from notes n where n.title = any(%s)",
            (markers,),
        ).fetchall()
    for title, tags in rows:
        found.setdefault(title, []).append(int(tags))
    return found


def assert_nothing_lost_doubled_or_partial(platform_dsn: str, writes: Writes) -> None:
    __tracebackhide__ = True
    found = notes_by_marker(platform_dsn, writes.acknowledged + writes.unacknowledged)
    lost = [m for m in writes.acknowledged if m not in found]
    doubled = {m: n for m, n in found.items() if len(n) > 1}
    partial = {m: n for m, n in found.items() if any(tags != len(TAGS) for tags in n)}
    assert not lost, f"{len(lost)} of {len(writes.acknowledged)} acknowledged writes are gone, e.g. {lost[:3]}"
    assert not doubled, f"written twice: {list(doubled)[:3]}"
    assert not partial, f"notes without all their tags: {list(partial.items())[:3]}"


def job_row(platform_dsn: str, job_id: str) -> tuple[str, int]:
    with psycopg.connect(platform_dsn) as conn:
        row = conn.execute("select status, attempts from jobs where id = %s", (job_id,)).fetchone()
    assert row is not None
    return str(row[0]), int(row[1])


def kill_worker_while_running(api: ReferenceStack, job_id: str) -> None:
    """SIGKILL the worker as soon as it has claimed the job, and check it died with the job unfinished."""
    deadline = time.monotonic() + 30
    while job_row(api.dsns.platform, job_id)[0] != "running":  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the worker never started the job"
        time.sleep(0.01)
    time.sleep(0.2)  # into the job's writes
    api.kill("worker")
    status, _ = job_row(api.dsns.platform, job_id)  # type: ignore[union-attr]
    # Anything else: the job claimed it was done before its work was (or the job is too small to catch).
    assert status == "running", f"the job was {status} when the worker died mid-job"


# ------------------------------------------------------------------------- PostgreSQL restarts
def test_database_crash_mid_load_loses_no_acknowledged_write_and_recovers_without_api_restart(
    api: ReferenceStack, client: httpx.Client, new_tenant: Callable[..., Tenant]
) -> None:
    server = api.database_server
    assert server is not None
    tenants = [new_tenant() for _ in range(3)]
    writes, stop = Writes(), threading.Event()
    load = threading.Thread(target=write_notes, args=(api.base_url, tenants, stop, writes, 400))
    load.start()
    try:
        time.sleep(0.5)
        server.crash()
        try:  # while it is down: a clean 503 for a write and a read, and not ready (each on a new connection)
            url = api.base_url
            down_write = httpx.post(f"{url}/v1/notes", json={"title": "down"}, headers=tenants[0].headers())
            down_read = httpx.get(f"{url}/v1/notes", headers=tenants[0].headers())
            readiness = httpx.get(f"{url}/readyz")
        finally:
            server.restart()
        back = time.monotonic()
        while (answer := client.get("/v1/notes", headers=tenants[0].headers())).status_code != 200:
            assert time.monotonic() - back < 5, f"still {answer.status_code} 5 s after the database came back"
            time.sleep(0.05)
        recovered = time.monotonic() - back
        time.sleep(0.3)  # writes after the recovery, too
    finally:
        stop.set()
        load.join()
    assert problem_defect(down_write, 503) is None, problem_defect(down_write, 503)
    assert problem_defect(down_read, 503) is None, problem_defect(down_read, 503)
    assert readiness.status_code == 503
    assert client.get("/readyz").status_code == 200
    assert recovered < 5
    assert writes.bad_errors == [], writes.bad_errors[:3]
    assert set(writes.statuses) <= {201, 503}, writes.statuses
    assert writes.acknowledged
    assert_nothing_lost_doubled_or_partial(api.dsns.platform, writes)  # type: ignore[union-attr]
    new_tenant()  # the platform pool, idle through the crash, serves again too
    # The worker lived through it too: a job queued now runs.
    headers = tenants[1].headers("admin")
    export = client.post("/v1/exports", headers=headers)
    assert export.status_code == 202
    assert wait_for(client, f"/v1/exports/{export.json()['id']}", headers, timeout=30)["status"] == "succeeded"


# -------------------------------------------------------------------------------- API killed
def small_bundle(notes: int, marker: str) -> dict[str, Any]:
    """A bundle as this service writes it: ``notes`` notes, each with one tag."""
    at = "2026-01-01T00:00:00+00:00"
    tag = str(uuid.uuid4())
    rows = [
        {
            "id": str(uuid.uuid4()),
            "title": f"{marker}-{i}",
            "body": "b",
            "author": "a",
            "created_at": at,
            "updated_at": at,
        }
        for i in range(notes)
    ]
    return {
        "format": "pake-tenant-bundle",
        "version": 1,
        "source": {"plan": "free"},
        "tables": {
            "users": [],
            "notes": rows,
            "tags": [{"id": tag, "name": "imported"}],
            "note_tags": [{"note_id": row["id"], "tag_id": tag} for row in rows],
            "comments": [],
            "attachments": [],
            "audit_log": [],
        },
    }


def test_api_killed_mid_write_leaves_no_half_applied_write(
    api: ReferenceStack, client: httpx.Client, new_tenant: Callable[..., Tenant], platform_headers: dict[str, str]
) -> None:
    tenants = [new_tenant() for _ in range(3)]
    writes, stop = Writes(), threading.Event()
    imports: list[str] = []
    accepted = threading.Event()

    def restore() -> None:
        with httpx.Client(base_url=api.base_url, timeout=10) as http:
            for _ in range(50):
                slug = f"imp-{uuid.uuid4().hex[:10]}"
                imports.append(slug)
                try:
                    response = http.post(
                        "/v1/admin/imports",
                        json={"slug": slug, "name": slug, "bundle": small_bundle(200, slug)},
                        headers=platform_headers,
                    )
                except httpx.TransportError:
                    return
                assert response.status_code == 202, response.text
                accepted.set()

    load = threading.Thread(target=write_notes, args=(api.base_url, tenants, stop, writes, 400))
    importer = threading.Thread(target=restore)
    load.start()
    importer.start()
    accepted.wait(10)
    time.sleep(0.3)
    api.kill("api")
    importer.join()
    stop.set()
    load.join()
    api.respawn("api")
    assert writes.statuses["no answer"] > 0, "the kill landed after the writes"
    assert_nothing_lost_doubled_or_partial(api.dsns.platform, writes)  # type: ignore[union-attr]
    # A restore is its tenant, its job and every row, or nothing at all.
    with psycopg.connect(api.dsns.platform) as conn:  # type: ignore[union-attr]
        started = conn.execute(
            "select t.slug, t.id, j.id from tenants t left join jobs j on j.tenant_id = t.id where t.slug = any(%s)",
            (imports,),
        ).fetchall()
    assert started, "no restore was accepted before the kill"
    for slug, tenant_id, job_id in started:
        assert job_id is not None, f"restore {slug}: a tenant without its job"
        job = wait_for(client, f"/v1/admin/tenants/{tenant_id}/jobs/{job_id}", platform_headers, timeout=30)
        assert job["status"] == "succeeded", job
        with psycopg.connect(api.dsns.platform) as conn:  # type: ignore[union-attr]
            count = conn.execute("select count(*) from notes where tenant_id = %s", (tenant_id,)).fetchone()
        assert count == (200,), f"restore {slug}: {count} notes"


# ----------------------------------------------------------------------------- worker killed
@pytest.fixture(scope="module")
def big_tenant(api: ReferenceStack, new_tenant: Callable[..., Tenant]) -> Tenant:
    """A tenant with many notes (seeded in SQL, as a long-lived tenant would have written them)."""
    tenant = new_tenant()
    with psycopg.connect(api.dsns.platform) as conn:  # type: ignore[union-attr]
        conn.execute(
            "insert into notes (tenant_id, title, body, author) "
            "select %s, 'big ' || i, 'a note of the big tenant', 'seed' from generate_series(1, %s) i",
            (tenant.id, BIG_TENANT_NOTES),
        )
    return tenant


def test_worker_killed_mid_export_completes_it_once_after_restart(
    api: ReferenceStack, client: httpx.Client, big_tenant: Tenant
) -> None:
    headers = big_tenant.headers("admin")
    job_id = client.post("/v1/exports", headers=headers).json()["id"]
    kill_worker_while_running(api, job_id)
    api.respawn("worker")
    job = wait_for(client, f"/v1/exports/{job_id}", headers, timeout=30)
    assert job["status"] == "succeeded", job
    assert job_row(api.dsns.platform, job_id) == ("succeeded", 2)  # type: ignore[union-attr]
    exports = client.get("/v1/exports", headers=headers).json()
    assert [e["id"] for e in exports] == [job_id], "one export, one file"
    bundle = client.get(f"/v1/exports/{job_id}/download", headers=headers).json()
    assert bundle["counts"]["notes"] == BIG_TENANT_NOTES


def test_worker_killed_mid_import_restores_every_row_exactly_once(
    api: ReferenceStack, client: httpx.Client, platform_headers: dict[str, str]
) -> None:
    slug = f"restore-{uuid.uuid4().hex[:8]}"
    notes = 6000
    accepted = client.post(
        "/v1/admin/imports",
        json={"slug": slug, "name": slug, "bundle": small_bundle(notes, slug)},
        headers=platform_headers,
    )
    assert accepted.status_code == 202, accepted.text
    tenant_id, job_id = accepted.json()["tenant"]["id"], accepted.json()["job"]["id"]
    kill_worker_while_running(api, job_id)
    api.respawn("worker")
    job = wait_for(client, f"/v1/admin/tenants/{tenant_id}/jobs/{job_id}", platform_headers, timeout=30)
    assert job["status"] == "succeeded", job
    assert job_row(api.dsns.platform, job_id) == ("succeeded", 2)  # type: ignore[union-attr]
    with psycopg.connect(api.dsns.platform) as conn:  # type: ignore[union-attr]
        counts = conn.execute(
            "select (select count(*) from notes where tenant_id = %(t)s), "
            "(select count(distinct title) from notes where tenant_id = %(t)s), "
            "(select count(*) from note_tags where tenant_id = %(t)s), "
            "(select count(*) from audit_log where tenant_id = %(t)s and action = 'import'), "
            "(select status from tenants where id = %(t)s)",
            {"t": tenant_id},
        ).fetchone()
    assert counts == (notes, notes, notes, 1, "active")


# ------------------------------------------------------------------------ pool exhaustion
async def flood_and_probe(
    base_url: str, slow: dict[str, str], quick: list[dict[str, str]], flood: int
) -> tuple[list[httpx.Response], list[httpx.Response]]:
    """``flood`` concurrent slow requests, then, while they are pending, one quick request per header
    set. One asyncio client, so that the test process itself adds little delay."""
    limits = httpx.Limits(max_connections=flood + len(quick))
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as http:
        slow_tasks = [asyncio.create_task(http.get("/v1/notes/count", headers=slow)) for _ in range(flood)]
        await asyncio.sleep(0.2)  # every slow request has reached the API
        quick_answers = await asyncio.gather(*(http.get("/v1/notes", headers=headers) for headers in quick))
        return await asyncio.gather(*slow_tasks), quick_answers


def test_tenant_exhausting_the_pool_is_refused_while_other_tenants_are_served(
    api: ReferenceStack, new_tenant: Callable[..., Tenant], big_tenant: Tenant
) -> None:
    """The big tenant counts its notes (a scan each, so each holds a connection a while) from five
    times more clients than the pool has connections: it gets its share and 429s, the other tenants
    their answers, each with its own data only."""
    others = [new_tenant() for _ in range(2)]
    with httpx.Client(base_url=api.base_url, timeout=10) as http:
        for tenant in others:
            assert http.post("/v1/notes", json={"title": f"canary-{tenant.slug}"}, headers=tenant.headers()).is_success
    flood = 40
    slow, quick = asyncio.run(flood_and_probe(api.base_url, big_tenant.headers(), [t.headers() for t in others], flood))
    for tenant, response in zip(others, quick, strict=True):
        assert response.status_code == 200, response.text
        titles = [note["title"] for note in response.json()["items"]]
        assert titles == [f"canary-{tenant.slug}"], titles
    statuses = Counter(response.status_code for response in slow)
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[429] > 0, f"the big tenant was never refused: {statuses}"
    for response in slow:
        if response.status_code == 200:
            assert response.json() == {"count": BIG_TENANT_NOTES}
        else:
            assert problem_defect(response, 429) is None, problem_defect(response, 429)
