"""Application-layer isolation: background jobs, internal services, cross-tenant analytics.

Each is described in the profile (``jobs``, ``internal_services``, ``analytics``); a target
without them gets these controls reported as not assessed, with the key that would enable them.
"""

from __future__ import annotations

import time

import pytest

from tenantprobe.credentials import render
from tenantprobe.oracles import flatten
from tenantprobe.probe import Actor, Exchange, Probe
from tenantprobe.profiles import InternalService, JobSettings
from tenantprobe.target import SeededTenant, Target


def _split(operation: str) -> tuple[str, str]:
    method, _, path = operation.partition(" ")
    return method.upper(), path


def _with_id(path: str, job_id: str) -> str:
    start, _, rest = path.partition("{")
    return start + job_id + rest.partition("}")[2]


def run_job(target: Target, probe: Probe, job: JobSettings, actor: Actor) -> tuple[str | None, Exchange | None]:
    """Start a job and wait for it; (job id, result download) or (None, the failing exchange)."""
    method, path = _split(job.start)
    started = probe.request(actor, method, path)
    job_id = (started.json() or {}).get("id") if started.ok else None
    if not isinstance(job_id, str):
        return None, started
    deadline = time.monotonic() + job.timeout_seconds
    status_method, status_path = _split(job.status)
    while time.monotonic() < deadline:
        status = probe.request(actor, status_method, _with_id(status_path, job_id))
        state = (status.json() or {}).get(job.status_field)
        if state in job.done:
            result_method, result_path = _split(job.result)
            return job_id, probe.request(actor, result_method, _with_id(result_path, job_id))
        if state in job.failed or not status.ok:
            return None, status
        time.sleep(0.2)
    return None, None


@pytest.mark.attack("services")
@pytest.mark.controls("APP-JOB-CONTEXT")
def test_jobs_run_in_their_tenants_context_only(target: Target, tenants: list[SeededTenant], probe: Probe) -> None:
    if not target.profile.jobs:
        pytest.skip("the profile declares no background jobs (jobs: start/status/result)")
    for job in target.profile.jobs:
        results = {}
        for tenant in tenants:
            actor = target.actor(tenant.ref, target.profile.highest_role)
            job_id, result = run_job(target, probe, job, actor)
            if job_id is None or result is None or not result.ok:
                pytest.fail(f"{job.start} as {tenant.slug} did not complete: {result.status if result else 'timeout'}")
            results[tenant.slug] = (job_id, result)
            own = [obj.canary for obj in tenant.objects if obj.canary in result.text]
            foreign = target.canaries.foreign(result.text, tenant.slug)
            probe.check(
                "APP-JOB-CONTEXT",
                bool(own) and not foreign,
                f"{job.start} for {tenant.slug} holds {len(own)} of its own canaries and "
                f"{len(foreign)} of {sorted(set(foreign.values()))}",
                [result],
            )
        for attacker in tenants:
            for victim in tenants:
                if attacker is victim:
                    continue
                job_id, _ = results[victim.slug]
                own_job_id, _ = results[attacker.slug]
                actor = target.owner(attacker)
                for operation in (job.status, job.result):
                    method, path = _split(operation)
                    positive = probe.request(actor, method, _with_id(path, own_job_id))
                    exchange = probe.request(actor, method, _with_id(path, job_id))
                    probe.judge(
                        "APP-JOB-CONTEXT",
                        exchange,
                        positive=positive,
                        leaked=exchange.ok,
                        summary=f"{attacker.slug} read {victim.slug}'s job: {operation} answered {exchange.status}",
                        attacker=attacker.slug,
                        victim=victim.slug,
                    )


def internal_token(target: Target, service: InternalService, tenant: SeededTenant, **offsets: int) -> str:
    """A token as the API would sign it for ``tenant``; ``offsets`` shift time claims (seconds from now)."""
    now = int(time.time())
    claims = {"iat": now, "nbf": now, "exp": now + 60, **render(service.claims, {"tenant_id": tenant.ref.id})}
    return target.tokens.sign({**claims, **{name: now + offset for name, offset in offsets.items()}})


@pytest.mark.attack("services")
@pytest.mark.controls("APP-SERVICE-PROPAGATION")
def test_internal_services_require_the_callers_tenant_context(
    target: Target, tenants: list[SeededTenant], probe: Probe
) -> None:
    if not target.profile.internal_services:
        pytest.skip("the profile declares no internal services (internal_services: name/url/call/claims)")
    if not target.tokens.can_forge:
        pytest.skip("internal tokens are signed with auth's key: needs auth.kind mint")
    tenant, other = tenants[0], tenants[1]
    for service in target.profile.internal_services:
        base = target.internal_url(service)
        if base is None:
            pytest.skip(f"internal_services.{service.name}.url is not reachable from this run")
        method, path = _split(service.call)
        canary = tenant.objects[0].canary if tenant.objects else "x"
        url = base + render(path, {"tenant_id": tenant.ref.id})
        body = render(service.body, {"canary": canary, "tenant_id": tenant.ref.id})
        valid = probe.request(
            Actor(f"{service.name}-caller", tenant.ref, None, internal_token(target, service, tenant)),
            method,
            url,
            json_body=body,
        )
        if not valid.ok:
            pytest.fail(f"a valid internal call to {service.name} answered {valid.status}: cannot judge refusals")
        attempts = {
            "no token": None,
            "the tenant's external token": target.actor(tenant.ref, target.profile.highest_role).token,
            "an expired internal token": internal_token(target, service, tenant, exp=-600, iat=-900, nbf=-900),
            "another tenant's internal token": internal_token(target, service, other),
        }
        for description, token in attempts.items():
            exchange = probe.request(Actor(description, None, None, token), method, url, json_body=body)
            probe.judge(
                "APP-SERVICE-PROPAGATION",
                exchange,
                positive=valid,
                leaked=exchange.ok,
                summary=f"{service.name} accepted a call with {description}: {exchange.status}",
            )


@pytest.mark.attack("services")
@pytest.mark.controls("APP-ANALYTICS-AGGREGATE-ONLY")
def test_analytics_return_aggregates_only(target: Target, tenants: list[SeededTenant], probe: Probe) -> None:
    analytics = target.profile.analytics
    if analytics is None:
        pytest.skip("the profile declares no cross-tenant analytics (analytics: operations)")
    identifiers = {t.ref.id: t.slug for t in tenants} | {t.slug: t.slug for t in tenants}
    identifiers |= {obj.id: t.slug for t in tenants for obj in t.objects}
    for operation in analytics.operations:
        method, path = _split(operation)
        exchange = probe.request(target.platform_actor(), method, path)
        if not exchange.ok:
            pytest.fail(f"{operation} as the platform administrator answered {exchange.status}")
        named = sorted({owner for value, owner in identifiers.items() if value in exchange.text})
        probe.check(
            "APP-ANALYTICS-AGGREGATE-ONLY",
            not named and not target.canaries.foreign(exchange.text, None),
            f"{operation} names tenants or their rows: {named}",
            [exchange],
        )
        small = {
            key: value
            for key, value in flatten(exchange.json()).items()
            if key.rsplit(".", 1)[-1] == "tenants" and isinstance(value, int) and value < analytics.min_tenants
        }
        probe.check(
            "APP-ANALYTICS-AGGREGATE-ONLY",
            not small,
            f"{operation} shows groups of fewer than {analytics.min_tenants} tenants: {small}",
            [exchange],
        )
