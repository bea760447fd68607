"""Per-tenant monitoring: each API operation a tenant calls is counted in the target's metrics under that tenant.

The profile's ``metrics_path`` is scraped (Prometheus text format, as the platform actor)
before and after one request per tenant operation. An operation is covered when some
counter (``*_total``) or histogram count (``*_count``) grew in a series labelled with the
tenant (its id or slug) and with the operation's route (the path template or the path sent),
and, where the series has an HTTP method label, with its method. The requests cannot change
data: an operation on one object addresses a missing id, a create is sent a body of the
wrong types.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tenantprobe.controls import load_catalogue
from tenantprobe.openapi import Operation, synthesize
from tenantprobe.probe import Actor, Exchange, Probe
from tenantprobe.records import ResultRecord, Status
from tenantprobe.target import SeededTenant, Target

CONTROL = "OPS-MONITORING-COVERAGE"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
Series = tuple[str, frozenset[tuple[str, str]]]


def counts(text: str) -> dict[Series, float]:
    """Every monotonic sample of a Prometheus exposition, keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.endswith(("_total", "_count"))
    }


def grown(before: dict[Series, float], after: dict[Series, float]) -> list[set[str]]:
    """The label values of each series that counted something between the two scrapes."""
    return [
        {value for _, value in labels}
        for (name, labels), value in after.items()
        if value > before.get((name, labels), 0.0)
    ]


def covered(operation: Operation, sent: Exchange, tenant: SeededTenant, series: list[set[str]]) -> bool:
    tenant_values = {tenant.ref.id, tenant.slug}
    routes = {operation.path, urlsplit(sent.url).path}
    for values in series:
        methods = values & METHODS
        if values & tenant_values and values & routes and (not methods or operation.method in methods):
            return True
    return False


def exercise(target: Target, probe: Probe, actor: Actor, tenant: SeededTenant, operation: Operation) -> Exchange:
    """One request that reaches the operation's handler without changing any data."""
    bindings = dict(tenant.bindings)
    if operation.path_params:
        bindings[operation.path_params[-1]] = str(uuid.uuid4())  # a missing object: 404, nothing changes
    path = operation.url(bindings)
    body = None
    if operation.body_schema is not None:
        valid = synthesize(operation.body_schema, target.canaries.issue(tenant.slug))
        body = {key: {"$wrong-type": ""} for key in valid} if isinstance(valid, dict) and valid else []
    return probe.request(actor, operation.method, path, json_body=body)


@pytest.mark.attack("monitoring")
@pytest.mark.controls(CONTROL)
def test_every_tenant_operation_is_counted_under_its_tenant(
    request: pytest.FixtureRequest,
    target: Target,
    tenants: list[SeededTenant],
    probe: Probe,
) -> None:
    metrics_path = target.profile.metrics_path
    if metrics_path is None:
        probe.not_assessed(CONTROL, "the profile names no metrics_path (the Prometheus endpoint to scrape)")
        return
    tenant = tenants[0]
    actor = target.actor(tenant.ref, target.profile.highest_role)
    platform = target.platform_actor()
    before = probe.request(platform, "GET", metrics_path)
    if before.status != 200:
        probe.not_assessed(CONTROL, f"GET {metrics_path} as the platform actor answered {before.status}")
        return
    operations = [op for op in target.api.operations if op.secured and not target.is_platform_operation(op.path)]
    sent: dict[str, tuple[Operation, Exchange]] = {}
    for operation in operations:
        if not set(operation.path_params[:-1]) <= set(tenant.bindings):
            probe.skip_operation(operation.key, "no object of the tenant binds its parent path parameters")
            continue
        sent[operation.key] = (operation, exercise(target, probe, actor, tenant, operation))
    after = probe.request(platform, "GET", metrics_path)
    series = grown(counts(before.text), counts(after.text))
    missing = [key for key, (op, exchange) in sent.items() if not covered(op, exchange, tenant, series)]
    percent = 100.0 * (len(sent) - len(missing)) / len(sent) if sent else 0.0
    control = load_catalogue().get(CONTROL)
    status = Status.PASS if sent and control.measure.satisfied_by(percent) else Status.FAIL
    probe.record(
        ResultRecord(
            control_id=CONTROL,
            check_id=request.node.nodeid,
            status=status,
            severity=control.severity,
            summary=(
                f"{len(sent) - len(missing)} of {len(sent)} tenant operations counted under tenant {tenant.slug}"
                + (f"; not: {', '.join(missing)}" if missing else "")
            ),
            measured={
                "monitoring_coverage_percent": percent,
                "operations": len(sent),
                "operations_counted": len(sent) - len(missing),
                "operations_not_counted": missing,
            },
            evidence=[sent[key][1].evidence() for key in missing[:5]],
        )
    )
    probe.finish()
    assert status is Status.PASS, f"[{CONTROL}] operations not counted under their tenant: {missing}"
