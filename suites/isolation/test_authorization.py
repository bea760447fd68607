"""Authorization: roles inside a tenant (BFLA) and platform operations closed to tenants.

The expectation matrix comes from the profile: reads (searches by POST too) need the lowest role, writes the second
lowest, unless an ``expectations`` entry says otherwise (``"* /v1/members*": admin``). Each
operation runs as every role on the tenant's own objects; mutations get fresh objects so a
permitted DELETE never removes what other checks rely on.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenantprobe.openapi import Operation, valid_body
from tenantprobe.probe import Exchange, Probe
from tenantprobe.target import SeededTenant, Target


def minimum_role(target: Target, op: Operation) -> str:
    for expectation in target.profile.expectations:
        if op.matches(expectation.operation):
            return expectation.min_role
    roles = target.profile.roles
    return roles[-1] if not op.mutates or len(roles) < 2 else roles[-2]


def allowed(target: Target, op: Operation, role: str) -> bool:
    roles = target.profile.roles  # highest first
    return roles.index(role) <= roles.index(minimum_role(target, op))


def role_bindings(target: Target, tenant: SeededTenant, op: Operation, probe: Probe) -> list[dict[str, str] | None]:
    """The bindings each role's request addresses (highest role first); ``None`` where nothing can be addressed.

    Operations that may change or destroy their object get a fresh one per role, so each role is judged on an
    object in the state the first found it in. All are made before the first request: a target that commits after
    it answers (FastAPI's dependencies with ``yield``) can answer 404 for an object it has just acknowledged. The
    tenant itself (a profile binding: ``/workspaces/{workspace_id}``) is never replaced by a new one: the other roles
    belong to the tenant, not to a workspace its owner just made; deleting it is left out (it would end the run's
    tenant).
    """
    roles = len(target.profile.roles)
    if not op.mutates or not op.addresses_item:
        return [tenant.bindings] * roles
    creator = next((c for c in target.api.creators() if c.item_path == op.path), None)
    if creator is not None and creator.id_param in target.profile.bindings:
        return [None if op.method == "DELETE" else tenant.bindings] * roles
    if creator is None:
        return [None] * roles
    owner = target.actor(tenant.ref, target.profile.highest_role)
    made = [target.create(tenant, creator, owner, probe) for _ in range(roles)]
    return [None if isinstance(obj, str) else obj.bindings for obj in made]


@pytest.mark.attack("authorization")
@pytest.mark.controls("API-AUTHZ-ROLE")
def test_each_role_can_do_exactly_what_the_expectation_matrix_allows(
    target: Target, tenants: list[SeededTenant], probe: Probe
) -> None:
    """Roles from highest to lowest: the first allowed role's success is the positive control of each refusal."""
    tenant = tenants[0]
    operations = [op for op in target.api.operations if op.secured and not target.is_platform_operation(op.path)]
    for op in operations:
        positive: Exchange | None = None
        for role, bindings in zip(target.profile.roles, role_bindings(target, tenant, op, probe), strict=True):
            if bindings is None or not set(op.path_params) <= set(bindings):
                probe.skip_operation(op.key, "no object of the tenant to address")
                continue
            canary = target.canaries.issue(tenant.slug)
            # The body a member of the tenant would send: its own objects in reference fields, a new user where
            # it adds one; a canary there would be refused for being wrong, whoever sends it.
            body = target.create_body(tenant, op, canary) if op.body_schema else None
            params = target.own_query(tenant, op, canary)
            exchange = probe.request(
                target.actor(tenant.ref, role), op.method, op.url(bindings), json_body=body, params=params
            )
            summary = f"{role} {op.key}: expected {'allowed' if allowed(target, op, role) else 'denied'}"
            if not allowed(target, op, role):
                probe.judge(
                    "API-AUTHZ-ROLE",
                    exchange,
                    positive=positive,
                    leaked=exchange.ok,
                    summary=f"{summary}, got {exchange.status}",
                )
                continue
            positive = positive or exchange
            # 403 refuses a role the matrix allows; a 401 says the credentials failed, not the role.
            if exchange.ok or exchange.status == 403:
                probe.check(
                    "API-AUTHZ-ROLE",
                    exchange.ok,
                    f"{summary}, got {exchange.status}",
                    [exchange],
                    expected="allowed",
                    actual=exchange.status,
                )
            else:
                probe.inconclusive("API-AUTHZ-ROLE", f"{summary}: {exchange.target} answered {exchange.outcome}")


@pytest.mark.attack("authorization")
@pytest.mark.controls("API-PLATFORM-ONLY")
def test_platform_operations_refuse_tenant_principals(
    target: Target, tenants: list[SeededTenant], probe: Probe
) -> None:
    """Tenant principals first, then the platform administrator's same request as the positive control."""
    platform_ops = [op for op in target.api.operations if target.is_platform_operation(op.path)]
    if not platform_ops:
        probe.not_assessed("API-PLATFORM-ONLY", "the profile names no platform_paths")
        return
    tenant = tenants[0]
    # Path ids point at a sacrificial tenant: if a tenant can delete or suspend it, nothing else breaks.
    victim = target.provision() if target.profile.provisioning.kind == "admin_endpoint" else tenants[-1].ref
    bindings: dict[str, Any] = {name: victim.id for op in platform_ops for name in op.path_params}
    actors = [target.actor(tenant.ref, role) for role in target.profile.roles] + [target.anonymous()]
    # Destructive operations last: the sacrificial tenant must survive the positive controls of the others.
    for op in sorted(platform_ops, key=lambda o: o.method == "DELETE"):
        body = valid_body(op.body_schema, target.canaries.issue(tenant.slug)) if op.body_schema else None
        attempts = [probe.request(actor, op.method, op.url(bindings), json_body=body) for actor in actors]
        positive = probe.request(target.platform_actor(), op.method, op.url(bindings), json_body=body)
        for exchange in attempts:
            probe.judge(
                "API-PLATFORM-ONLY",
                exchange,
                positive=positive,
                leaked=exchange.ok,
                summary=f"{exchange.actor.name} called platform operation {op.key}: {exchange.status}",
            )
