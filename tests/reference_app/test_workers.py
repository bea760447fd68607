"""Two API worker processes share each tenant's rate limit (PostgreSQL) and their metrics (multiprocess mode).

The app runs with ``REFERENCE_APP_API_WORKERS=2`` on real PostgreSQL, over real HTTP. Clients on
separate connections flood one tenant; the kernel hands the connections to both workers. With a
bucket per process the tenant would get up to twice its plan; with the shared bucket it gets its
plan's burst plus its rate over the window, and another tenant keeps its own full bucket.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest

from tenantprobe.stack import ReferenceStack
from tests.reference_app.conftest import Tenant

RATE, BURST = 5.0, 5
WINDOW_SECONDS = 3.0
CLIENTS = 8
ENV = {
    "REFERENCE_APP_API_WORKERS": "2",
    "REFERENCE_APP_PLAN_FREE": f"rate={RATE:g},burst={BURST}",
    "REFERENCE_APP_PLAN_PRO": "rate=0.05,burst=3",  # refills a token in 20 s: a test's requests spend it
    "REFERENCE_APP_THROTTLE_DELAY_MS": "20",
}


@pytest.fixture(scope="module")
def app_env() -> dict[str, str]:
    return ENV


def _workers(stack: ReferenceStack) -> list[psutil.Process]:
    """The uvicorn worker processes under the API's supervisor (multiprocessing's helper aside)."""
    (supervisor,) = stack.pids()["api"]
    children = psutil.Process(supervisor).children()
    return [child for child in children if "resource_tracker" not in " ".join(child.cmdline())]


def _flood(base_url: str, tenant: Tenant, seconds: float) -> tuple[list[int], float]:
    """Status codes of ``CLIENTS`` clients, each on its own connection, sending for ``seconds``."""
    headers = tenant.headers()

    def client(_: int) -> list[int]:
        codes: list[int] = []
        with httpx.Client(base_url=base_url, timeout=10) as http:
            while time.monotonic() < deadline:
                codes.append(http.get("/v1/notes", headers=headers).status_code)
        return codes

    started = time.monotonic()
    deadline = started + seconds
    with ThreadPoolExecutor(CLIENTS) as pool:
        codes = [code for batch in pool.map(client, range(CLIENTS)) for code in batch]
    return codes, time.monotonic() - started


def _requests_counted(scrape: str, tenant: Tenant) -> int:
    pattern = rf'^pake_http_requests_total\{{[^}}]*tenant="{tenant.id}"[^}}]*\}} (\S+)$'
    return int(sum(float(value) for value in re.findall(pattern, scrape, flags=re.MULTILINE)))


def test_two_workers_hold_a_tenant_to_its_plan_and_keep_tenants_apart(
    api: ReferenceStack,
    client: httpx.Client,
    new_tenant: Callable[..., Tenant],
    platform_headers: dict[str, str],
) -> None:
    workers = _workers(api)
    assert len(workers) == 2, [worker.cmdline() for worker in workers]
    cpu_before = [sum(worker.cpu_times()[:2]) for worker in workers]
    noisy, quiet = new_tenant("free"), new_tenant("free")

    codes, elapsed = _flood(api.base_url, noisy, WINDOW_SECONDS)

    admitted = codes.count(200)
    assert set(codes) <= {200, 429}, codes
    ceiling = BURST + RATE * elapsed
    assert len(codes) > 2 * ceiling, f"the flood sent {len(codes)} requests: too few to exceed the plan twice"
    assert admitted <= ceiling + 1, f"{admitted} admitted in {elapsed:.2f} s; the plan allows {ceiling:.1f}"
    assert admitted >= BURST, f"only {admitted} admitted: less than the plan's burst"
    busy = [sum(worker.cpu_times()[:2]) - before for worker, before in zip(workers, cpu_before, strict=True)]
    assert min(busy) > 0.05, f"both workers served the flood (CPU seconds each: {busy})"

    # The other tenant's bucket is its own: a full burst right after the flood, whichever worker answers.
    assert [client.get("/v1/notes", headers=quiet.headers()).status_code for _ in range(BURST)] == [200] * BURST

    # One scrape adds up both workers' counts.
    scrape = client.get("/metrics", headers=platform_headers)
    assert scrape.status_code == 200
    assert _requests_counted(scrape.text, noisy) == len(codes)
    assert _requests_counted(scrape.text, quiet) == BURST


def test_a_write_rolled_back_after_the_gate_is_still_charged(
    client: httpx.Client, new_tenant: Callable[..., Tenant]
) -> None:
    tenant = new_tenant("pro")
    missing = "00000000-0000-4000-8000-000000000000"
    # A PATCH of a note that does not exist passes the gate (charged), then rolls back with its 404.
    answers = [client.patch(f"/v1/notes/{missing}", json={"title": "x"}, headers=tenant.headers()) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [404] * 3
    assert client.get("/v1/notes", headers=tenant.headers()).status_code == 429


def test_no_worker_serves_a_note_another_worker_updated(api: ReferenceStack, new_tenant: Callable[..., Tenant]) -> None:
    tenant = new_tenant("enterprise")
    headers = tenant.headers()

    def titles(note_id: str) -> set[str]:
        """The note's title as read by ``CLIENTS`` concurrent connections (the workers share them out)."""

        def read(_: int) -> set[str]:
            with httpx.Client(base_url=api.base_url, timeout=10) as http:
                return {http.get(f"/v1/notes/{note_id}", headers=headers).json()["title"] for _ in range(5)}

        with ThreadPoolExecutor(CLIENTS) as pool:
            return set().union(*pool.map(read, range(CLIENTS)))

    with httpx.Client(base_url=api.base_url, timeout=10) as http:
        created = http.post("/v1/notes", json={"title": "before", "body": "b"}, headers=headers)
        assert created.status_code == 201, created.text
        note_id = created.json()["id"]
        assert titles(note_id) == {"before"}  # each worker has read it (and would have cached it)
        updated = http.patch(f"/v1/notes/{note_id}", json={"title": "after"}, headers=headers)
        assert updated.status_code == 200, updated.text
    assert titles(note_id) == {"after"}
