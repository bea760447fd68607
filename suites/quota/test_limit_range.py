"""Limit ranges: containers that declare nothing get defaults, and none may ask for more than the maximum.

Every create is a server dry run as the tenant: admission (LimitRanger, then ResourceQuota)
runs in full and nothing is stored.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.utils import parse_quantity

from tenantprobe.kube.client.objects import restricted_pod

CONTROL = "INFRA-LIMIT-RANGE"


def container_limits(cluster: Any, namespace: str) -> dict[str, dict[str, str]]:
    """default, defaultRequest and max of the namespace's Container limit ranges, merged."""
    merged: dict[str, dict[str, str]] = {"default": {}, "defaultRequest": {}, "max": {}}
    for limit_range in cluster.admin.items(f"/api/v1/namespaces/{namespace}/limitranges"):
        for item in (limit_range.get("spec") or {}).get("limits", []):
            if item.get("type") == "Container":
                for key in merged:
                    merged[key].update(item.get(key) or {})
    return merged


def doubled(quantity: str) -> str:
    """Twice a Kubernetes quantity, in base units ("2" -> "4", "4Gi" -> "8589934592", "500m" -> "1.000")."""
    return format(parse_quantity(quantity) * 2, "f")  # type: ignore[no-untyped-call]


@pytest.mark.controls(CONTROL)
def test_container_without_resources_gets_the_defaults(
    kube_probe: Any, kube_cluster: Any, kube_tenants: list[Any]
) -> None:
    for tenant in kube_tenants:
        limits = container_limits(kube_cluster, tenant.namespace)
        expected = {
            "requests": {r: limits["defaultRequest"].get(r) for r in ("cpu", "memory")},
            "limits": {r: limits["default"].get(r) for r in ("cpu", "memory")},
        }
        if None in expected["requests"].values() or None in expected["limits"].values():
            kube_probe.check(
                CONTROL,
                False,
                f"namespace {tenant.namespace}: no LimitRange gives containers default cpu and memory requests and "
                "limits",
                [{"namespace": tenant.namespace, "container_limits": limits}],
                attacker=tenant.name,
            )
            continue
        response = tenant.admin.create(restricted_pod("tp-limits-defaults", tenant.namespace), dry_run=True)
        resources = response.body["spec"]["containers"][0].get("resources", {}) if response.ok else {}
        got = {kind: {r: resources.get(kind, {}).get(r) for r in ("cpu", "memory")} for kind in expected}
        kube_probe.check(
            CONTROL,
            response.ok and got == expected,
            f"namespace {tenant.namespace}: a container without resources got {got} ({response.status} "
            f"{response.message}), expected the defaults {expected}",
            [response.evidence(), {"expected": expected, "actual": got}],
            attacker=tenant.name,
        )


@pytest.mark.controls(CONTROL)
@pytest.mark.parametrize("resource", ["cpu", "memory"])
def test_container_above_the_maximum_is_refused(
    resource: str, kube_probe: Any, kube_cluster: Any, kube_tenants: list[Any]
) -> None:
    for tenant in kube_tenants:
        maximum = container_limits(kube_cluster, tenant.namespace)["max"].get(resource)
        if maximum is None:
            kube_probe.check(
                CONTROL,
                False,
                f"namespace {tenant.namespace}: no LimitRange sets a maximum {resource} per container",
                [{"namespace": tenant.namespace, "resource": resource}],
                attacker=tenant.name,
            )
            continue
        over = {resource: doubled(maximum)}
        pod = restricted_pod("tp-limits-max", tenant.namespace, {"requests": over, "limits": over})
        response = tenant.admin.create(pod, dry_run=True)
        kube_probe.expect_refused(
            CONTROL,
            response,
            f"{tenant.namespace}: container asking for {over[resource]} {resource} (maximum {maximum})",
            status=403,
            because=f"maximum {resource} usage per Container",
            attacker=tenant.name,
        )
