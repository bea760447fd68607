"""Resource quotas: every tenant namespace has one, and the apiserver enforces it.

Enforcement is proven by doing it: as the tenant, create objects of each kind until the quota
is full, then one more, which the apiserver must refuse with its "exceeded quota" error. Each
kind fills the quota of a tenant of its own, so no other check ever meets a full namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantprobe.kube.client import objects

CONTROL = "INFRA-RESOURCE-QUOTA"
# What the tenant template promises to limit: compute, storage and object counts.
REQUIRED = (
    "requests.cpu",
    "limits.cpu",
    "requests.memory",
    "limits.memory",
    "requests.ephemeral-storage",
    "pods",
    "services",
    "persistentvolumeclaims",
    "configmaps",
    "secrets",
)
MAX_FILL = 200  # a quota larger than this is not filled object by object
TINY = {"cpu": "10m", "memory": "16Mi", "ephemeral-storage": "16Mi"}

FACTORIES: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "pods": lambda name, ns: objects.restricted_pod(name, ns, {"requests": TINY, "limits": TINY}),
    "services": objects.service,
    "configmaps": objects.config_map,
    "secrets": objects.secret,
    "persistentvolumeclaims": objects.volume_claim,
}


def quotas(cluster: Any, namespace: str) -> list[dict[str, Any]]:
    return list(cluster.admin.items(f"/api/v1/namespaces/{namespace}/resourcequotas"))


@pytest.mark.controls(CONTROL)
def test_every_tenant_namespace_has_a_quota_on_compute_storage_and_objects(
    kube_probe: Any, kube_cluster: Any, kube_tenants: list[Any]
) -> None:
    for tenant in kube_tenants:
        found = quotas(kube_cluster, tenant.namespace)
        limited = {key for quota in found for key in (quota.get("spec") or {}).get("hard", {})}
        missing = [resource for resource in REQUIRED if resource not in limited]
        kube_probe.check(
            CONTROL,
            not missing,
            f"namespace {tenant.namespace}: no ResourceQuota limits {', '.join(missing)}",
            [{"namespace": tenant.namespace, "resourcequotas": [q.get("spec") for q in found]}],
            attacker=tenant.name,
        )


@pytest.mark.controls(CONTROL)
@pytest.mark.parametrize("resource", list(FACTORIES))
def test_tenant_creating_past_its_quota_is_refused(
    resource: str, kube_probe: Any, kube_cluster: Any, kube_scratch_tenant: Any
) -> None:
    tenant = kube_scratch_tenant
    limits = [
        (int(status["hard"][resource]), int(status.get("used", {}).get(resource, "0")), quota["metadata"]["name"])
        for quota in quotas(kube_cluster, tenant.namespace)
        if resource in (status := quota.get("status") or {}).get("hard", {})
    ]
    if not limits:
        kube_probe.check(
            CONTROL,
            False,
            f"namespace {tenant.namespace}: no ResourceQuota limits {resource}; a tenant can create them without end",
            [{"namespace": tenant.namespace, "resource": resource, "resourcequotas": []}],
            attacker=tenant.name,
        )
        return
    hard, used, name = min(limits, key=lambda limit: limit[0] - limit[1])
    if hard - used > MAX_FILL:
        kube_probe.not_assessed(
            CONTROL,
            f"ResourceQuota {name} allows {hard - used} more {resource}; filling more than {MAX_FILL} object by object "
            "is not attempted. Give the tenant template a smaller count quota to measure it.",
        )
        return
    refusal = None
    created = 0
    for index in range(hard - used + 1):
        response = tenant.admin.create(FACTORIES[resource](f"tp-quota-{resource}-{index}", tenant.namespace))
        if not response.ok:
            refusal = response
            break
        created += 1
    if refusal is None:
        kube_probe.check(
            CONTROL,
            False,
            f"{tenant.namespace}: created {created} {resource} with {used} already used, past ResourceQuota {name} "
            f"of {hard}",
            [{"resourcequota": name, "hard": hard, "used_before": used, "created": created}],
            attacker=tenant.name,
        )
    else:
        kube_probe.expect_refused(
            CONTROL,
            refusal,
            f"{tenant.namespace}: {resource} number {used + created + 1} past ResourceQuota {name} of {hard}",
            status=403,
            because="exceeded quota",
            attacker=tenant.name,
        )
