"""Isolation under concurrency: many tenants' requests interleaved, every response canary-scanned."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tenantprobe.probe import Actor, Exchange, Probe
from tenantprobe.target import SeededTenant, Target

CONCURRENT_TENANTS = 20
REQUESTS_PER_TENANT = 50


@pytest.mark.attack("concurrency")
@pytest.mark.controls("API-CONCURRENCY-ISOLATION")
def test_interleaved_tenants_see_only_their_own_data(target: Target, tenants: list[SeededTenant], probe: Probe) -> None:
    crowd = list(tenants)
    if target.profile.provisioning.kind == "admin_endpoint":
        crowd += [target.seed(target.provision(), probe) for _ in range(CONCURRENT_TENANTS - len(crowd))]
    reads = [
        op
        for op in target.api.operations
        if op.method == "GET"
        and op.secured
        and not target.is_platform_operation(op.path)
        and not any(q.required for q in op.query)
    ]
    paths = {}
    for tenant in crowd:
        usable = [op for op in reads if set(op.path_params) <= set(tenant.bindings)]
        paths[tenant.slug] = [op.url(tenant.bindings) for op in usable]
    # Interleaved: request i of every tenant before request i + 1 of any.
    plan = [
        (target.actor(tenant.ref, target.profile.highest_role), paths[tenant.slug][i % len(paths[tenant.slug])])
        for i in range(REQUESTS_PER_TENANT)
        for tenant in crowd
        if paths[tenant.slug]
    ]
    if not plan:
        probe.not_assessed("API-CONCURRENCY-ISOLATION", "no secured read without required parameters to send")

    def send(item: tuple[Actor, str]) -> Exchange:
        actor, path = item
        return target.client.send(actor, "GET", path)

    with ThreadPoolExecutor(max_workers=32) as pool:
        exchanges = list(pool.map(send, plan))
    served = 0
    for exchange in exchanges:
        probe.scan(exchange)
        own = exchange.actor.tenant
        slug = own.slug if own else None
        if exchange.ok or exchange.status >= 500:
            served += exchange.ok
            probe.check(
                "API-CONCURRENCY-ISOLATION",
                exchange.ok,
                f"{exchange.actor.name} got {exchange.status} under concurrent load",
                [exchange],
                attacker=slug,
            )
        else:
            reason = f"{exchange.target} answered {exchange.outcome}: the tenant's own read was not served"
            probe.inconclusive("API-CONCURRENCY-ISOLATION", reason, attacker=slug)
    foreign = [
        key
        for key, attempts in probe.attempts.items()
        if key[0] == "API-CANARY-ORACLE" and any(not attempt.ok for attempt in attempts)
    ]
    if served:
        probe.check(
            "API-CONCURRENCY-ISOLATION",
            not foreign,
            f"{len(foreign)} tenant pairs saw each other's canaries under concurrent load",
        )
