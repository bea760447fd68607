"""Pod security: tenant namespaces enforce the restricted standard, and every known escape is refused.

Each escape is one change to a pod that the restricted standard accepts; that pod is first
created (server dry-run, as the tenant) to show the refusals are about the change and not about
quota, limits or permissions. Nothing is persisted: every create is a dry run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantprobe.errors import TargetError
from tenantprobe.kube.client.objects import restricted_pod

POD_SECURITY = "INFRA-POD-SECURITY"
NAMESPACE_PSA = "INFRA-NAMESPACE-PSA"
ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_REFUSAL = 'violates PodSecurity "restricted'


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = pod["spec"]["containers"][0]
    return container


def _privileged(pod: dict[str, Any]) -> None:
    # privileged implies privilege escalation; the API refuses the contradiction as invalid.
    _container(pod)["securityContext"].update(privileged=True, allowPrivilegeEscalation=True)


def _host_path(pod: dict[str, Any]) -> None:
    pod["spec"]["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
    _container(pod)["volumeMounts"] = [{"name": "host", "mountPath": "/host"}]


def _run_as_root(pod: dict[str, Any]) -> None:
    pod["spec"]["securityContext"].update(runAsNonRoot=False, runAsUser=0)
    _container(pod)["securityContext"].update(runAsNonRoot=False, runAsUser=0)


ESCAPES: dict[str, Callable[[dict[str, Any]], None]] = {
    "privileged": _privileged,
    "hostNetwork": lambda pod: pod["spec"].update(hostNetwork=True),
    "hostPID": lambda pod: pod["spec"].update(hostPID=True),
    "hostIPC": lambda pod: pod["spec"].update(hostIPC=True),
    "hostPath": _host_path,
    "added capabilities": lambda pod: _container(pod)["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]),
    "runAsRoot": _run_as_root,
    "allowPrivilegeEscalation": lambda pod: _container(pod)["securityContext"].update(allowPrivilegeEscalation=True),
}


def _pod(tenant: Any, name: str, escape: str | None = None) -> dict[str, Any]:
    pod = restricted_pod(f"tp-psa-{name}", tenant.namespace)
    if escape is not None:
        ESCAPES[escape](pod)
    return pod


def _require_compliant_pod_accepted(tenant: Any) -> None:
    response = tenant.admin.create(_pod(tenant, "compliant"), dry_run=True)
    if not response.ok:
        raise TargetError(
            f"{tenant.namespace}: a pod that meets the restricted standard was refused ({response.status} "
            f"{response.message}), so refusals of escapes prove nothing; can {tenant.admin.identity.user} create pods?"
        )


@pytest.mark.controls(POD_SECURITY)
@pytest.mark.parametrize("escape", list(ESCAPES))
def test_tenant_pod_with_escape_is_refused(escape: str, kube_probe: Any, kube_tenants: list[Any]) -> None:
    for tenant in kube_tenants:
        _require_compliant_pod_accepted(tenant)
        name = escape.lower().replace(" ", "-")
        response = tenant.admin.create(_pod(tenant, name, escape), dry_run=True)
        # 403 is an admission refusal (Pod Security, or a policy engine doing its job); 422 would be
        # an invalid spec, which proves nothing about security.
        kube_probe.expect_refused(
            POD_SECURITY,
            response,
            f"{tenant.namespace}: pod with {escape}",
            status=403,
            attacker=tenant.name,
        )


@pytest.mark.controls(NAMESPACE_PSA)
def test_tenant_namespaces_enforce_restricted_pod_security(
    kube_probe: Any, kube_cluster: Any, kube_tenants: list[Any]
) -> None:
    for tenant in kube_tenants:
        response = kube_cluster.admin.get(f"/api/v1/namespaces/{tenant.namespace}")
        labels = (response.body.get("metadata") or {}).get("labels") or {} if response.ok else {}
        kube_probe.check(
            NAMESPACE_PSA,
            labels.get(ENFORCE) == "restricted",
            f"namespace {tenant.namespace} has {ENFORCE}={labels.get(ENFORCE)!r} (restricted expected)",
            [{"namespace": tenant.namespace, "labels": labels}],
            attacker=tenant.name,
        )
        _require_compliant_pod_accepted(tenant)
        refused = tenant.admin.create(_pod(tenant, "privileged", "privileged"), dry_run=True)
        kube_probe.expect_refused(
            NAMESPACE_PSA,
            refused,
            f"{tenant.namespace}: privileged pod refused by Pod Security admission",
            because=PSA_REFUSAL,
            attacker=tenant.name,
        )
