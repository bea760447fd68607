"""Per-tenant Prometheus metrics with bounded cardinality.

Every request is counted and timed with its tenant, method and *route template*
(``/v1/notes/{note_id}``, never the raw path). Tenant label values are bounded: the first
``max_tenants`` tenants seen by this process get their own value, every later one is counted
as ``other``, requests without a tenant as ``none``. Quota and rate-limit rejections are
counted per tenant and quota.

Several API worker processes (``REFERENCE_APP_API_WORKERS``) use prometheus_client's
multiprocess mode: each process writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR`` (one
directory per run, emptied at start: :func:`multiprocess_directory`), and a scrape, whichever
process answers it, adds up every process's files. Tenant labels are then bounded per process:
at most ``max_tenants`` each, since a process admits the first tenants *it* sees.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
NO_TENANT = "none"
OTHER = "other"
UNMATCHED = "unmatched"


class TenantLabels:
    """Maps tenant ids to label values; at most ``max_tenants`` distinct ones, then ``other``."""

    def __init__(self, max_tenants: int) -> None:
        self._max = max_tenants
        self._admitted: set[str] = set()

    def __call__(self, tenant_id: UUID | str | None) -> str:
        if tenant_id is None:
            return NO_TENANT
        value = str(tenant_id)
        if value in self._admitted:
            return value
        if len(self._admitted) < self._max:
            self._admitted.add(value)
            return value
        return OTHER


@contextmanager
def multiprocess_directory() -> Iterator[Path]:
    """The run's directory for the worker processes' sample files, in the environment they inherit.

    Emptied at start (files a previous run left would be added to this run's counts), and removed
    at the end when it was made here. Set before the workers import prometheus_client, which
    picks its storage at import time.
    """
    given = os.environ.get(MULTIPROCESS_DIR)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="reference-app-metrics-"))
    if given:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    os.environ[MULTIPROCESS_DIR] = str(path)
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)


class Metrics:
    def __init__(self, max_tenants: int) -> None:
        # ``registry`` is what a scrape reads: this process's metrics, or every worker's files.
        self.registry = CollectorRegistry()
        own = self.registry
        if os.environ.get(MULTIPROCESS_DIR):
            multiprocess.MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
            own = CollectorRegistry()  # keeps this process's metric names unique; samples go to the files
        self.label = TenantLabels(max_tenants)
        self.requests = Counter(
            "pake_http_requests", "HTTP requests", ["tenant", "method", "route", "status"], registry=own
        )
        self.latency = Histogram(
            "pake_http_request_duration_seconds",
            "HTTP request latency",
            ["tenant", "method", "route"],
            registry=own,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.errors = Counter(
            "pake_http_errors",
            "HTTP responses with status >= 400",
            ["tenant", "route", "class"],
            registry=own,
        )
        self.quota_rejections = Counter(
            "pake_quota_rejections",
            "Requests refused by a quota or rate limit",
            ["tenant", "quota"],
            registry=own,
        )

        # (tenant, method, route, status) -> the request counter's and latency histogram's children:
        # prometheus_client's labels() takes a lock and checks every value on each call. Bounded like the
        # label values themselves (tenants x routes x methods x statuses).
        self._children: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, tenant: str, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one request under its labels."""
        key = (tenant, method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(tenant=tenant, method=method, route=route, status=str(status)),
                self.latency.labels(tenant=tenant, method=method, route=route),
            )
        children[0].inc()
        children[1].observe(seconds)
        if status >= 400:
            self.errors.labels(tenant=tenant, route=route, **{"class": f"{status // 100}xx"}).inc()

    def reject(self, tenant_id: UUID | None, quota: str) -> None:
        self.quota_rejections.labels(tenant=self.label(tenant_id), quota=quota).inc()


def _tenant_of(scope: Scope) -> UUID | str | None:
    """The authenticated tenant, which the tenant dependency leaves in the request state."""
    tenant: UUID | None = scope.get("state", {}).get("tenant_id")
    return tenant


class MetricsMiddleware:
    """Times and counts every HTTP request; the tenant comes from ``scope["state"]["tenant_id"]``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            tenant = self.metrics.label(_tenant_of(scope))
            self.metrics.observe(tenant, scope["method"], template, status, time.perf_counter() - started)
