"""Error hygiene: provoked errors carry no database internals, stack traces, secrets or foreign data."""

from __future__ import annotations

import uuid

import pytest

from tenantprobe.objects import missing_like
from tenantprobe.openapi import synthesize
from tenantprobe.oracles import internal_markers
from tenantprobe.probe import Exchange, Probe
from tenantprobe.target import SeededTenant, Target


@pytest.mark.attack("data-exposure")
@pytest.mark.controls("API-ERROR-HYGIENE")
def test_provoked_errors_reveal_nothing_internal(target: Target, tenants: list[SeededTenant], probe: Probe) -> None:
    tenant, other = tenants[0], tenants[1]
    actor = target.actor(tenant.ref, target.profile.highest_role)
    provoked: list[Exchange] = []
    for op in target.api.operations:
        if target.is_platform_operation(op.path):
            continue
        if op.path_params:
            malformed = {name: "not-an-id'\"" for name in op.path_params}
            foreign = {**tenant.bindings, **{k: v for k, v in other.bindings.items() if k == op.path_params[-1]}}
            deepest = op.path_params[-1]
            missing = {**tenant.bindings, deepest: missing_like(tenant.bindings.get(deepest, str(uuid.uuid4())))}
            for bindings in (malformed, foreign, missing):
                if set(op.path_params) <= set(bindings):
                    provoked.append(probe.request(actor, op.method, op.url(bindings)))
        if op.body_schema is not None and set(op.path_params) <= set(tenant.bindings):
            path = op.url(tenant.bindings)
            body = synthesize(op.body_schema, target.canaries.issue(tenant.slug))
            wrong_types = {key: {"$gt": ""} for key in body} if isinstance(body, dict) else []
            provoked.append(probe.request(actor, op.method, path, json_body=wrong_types))
            if op.method == "POST":  # the same object twice: unique violations echo the conflicting key
                provoked.append(probe.request(actor, op.method, path, json_body=body))
                provoked.append(probe.request(actor, op.method, path, json_body=body))
    errors = [exchange for exchange in provoked if exchange.status >= 400]
    if not errors:
        probe.not_assessed("API-ERROR-HYGIENE", "no request provoked an error response: nothing to judge")
    for exchange in errors:
        markers = internal_markers(exchange.text)
        probe.check(
            "API-ERROR-HYGIENE",
            not markers,
            f"{exchange.method} {exchange.url} answered {exchange.status}"
            + (f" revealing {markers}" if markers else ""),
            [exchange],
        )
