"""RBAC: every tenant identity is confined to its own namespace (the kubectl-mtb benchmark set, done for real).

Each tenant has two identities: its administrator (a user in the tenant's admin group, the
group the template binds) and its workloads' service account. Each asks the apiserver what it
may do (SelfSubjectAccessReview) across a matrix: nothing cluster-scoped, nothing in any other
tenant's namespace (every ordered pair, so both directions), no escalate/bind, and, for the
administrator, everything a tenant needs to run its own namespace. A few real requests back
the reviews, so an authorizer that answers reviews differently from requests is caught too.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenantprobe.kube.client.api import Access, KubeClient

CONTROL = "INFRA-RBAC-TENANT-SCOPE"
RBAC = "rbac.authorization.k8s.io"
NET = "networking.k8s.io"

CLUSTER_SCOPED = (
    Access("list", "namespaces"),
    Access("create", "namespaces"),
    Access("list", "nodes"),
    Access("get", "nodes", subresource="proxy"),
    Access("create", "persistentvolumes"),
    Access("create", "storageclasses", "storage.k8s.io"),
    Access("create", "clusterroles", RBAC),
    Access("create", "clusterrolebindings", RBAC),
    Access("escalate", "clusterroles", RBAC),
    Access("bind", "clusterroles", RBAC),
    Access("create", "customresourcedefinitions", "apiextensions.k8s.io"),
    Access("create", "validatingwebhookconfigurations", "admissionregistration.k8s.io"),
    Access("create", "mutatingwebhookconfigurations", "admissionregistration.k8s.io"),
    Access("update", "certificatesigningrequests", "certificates.k8s.io", subresource="approval"),
    Access("impersonate", "users"),
    Access("impersonate", "groups"),
    Access("impersonate", "serviceaccounts"),
    Access("list", "secrets"),  # in every namespace at once
    Access("list", "pods"),
    Access("*", "*", "*"),
)


def in_foreign_namespace(namespace: str) -> list[Access]:
    return [
        Access("get", "pods", namespace=namespace),
        Access("list", "pods", namespace=namespace),
        Access("create", "pods", namespace=namespace),
        Access("create", "pods", namespace=namespace, subresource="exec"),
        Access("list", "secrets", namespace=namespace),
        Access("get", "secrets", namespace=namespace),
        Access("list", "configmaps", namespace=namespace),
        Access("list", "services", namespace=namespace),
        Access("create", "deployments", "apps", namespace=namespace),
        Access("create", "serviceaccounts", namespace=namespace, subresource="token"),
        Access("create", "rolebindings", RBAC, namespace=namespace),
        Access("create", "networkpolicies", NET, namespace=namespace),
        Access("delete", "networkpolicies", NET, namespace=namespace),
        Access("delete", "resourcequotas", namespace=namespace),
        # The namespace object itself: the request's namespace is the namespace's own name.
        Access("patch", "namespaces", name=namespace, namespace=namespace),
        Access("delete", "namespaces", name=namespace, namespace=namespace),
    ]


def escalation_in_own(namespace: str) -> list[Access]:
    return [
        Access("escalate", "roles", RBAC, namespace=namespace),
        Access("bind", "roles", RBAC, namespace=namespace),
        Access("bind", "clusterroles", RBAC, namespace=namespace),
        # Relabelling its own namespace would switch off its Pod Security enforcement.
        Access("patch", "namespaces", name=namespace, namespace=namespace),
        Access("update", "namespaces", name=namespace, namespace=namespace),
        Access("get", "secrets", namespace="kube-system"),
    ]


def needed_in_own(namespace: str) -> list[Access]:
    return [
        Access(verb, resource, group, namespace=namespace)
        for verb in ("create", "update", "delete")
        for resource, group in (("rolebindings", RBAC), ("networkpolicies", NET))
    ] + [
        Access("create", "pods", namespace=namespace),
        Access("create", "services", namespace=namespace),
        Access("create", "configmaps", namespace=namespace),
        Access("get", "secrets", namespace=namespace),
        Access("create", "deployments", "apps", namespace=namespace),
    ]


def identities(cluster: Any, tenant: Any) -> list[KubeClient]:
    clients = [tenant.admin]
    if tenant.workload_service_account:
        clients.append(cluster.service_account(tenant.namespace, tenant.workload_service_account))
    return clients


@pytest.mark.controls(CONTROL)
def test_tenant_identities_have_no_cluster_scoped_access(
    kube_probe: Any, kube_cluster: Any, kube_tenants: list[Any]
) -> None:
    for tenant in kube_tenants:
        for client in identities(kube_cluster, tenant):
            for access in CLUSTER_SCOPED:
                kube_probe.expect_denied(CONTROL, client, access, attacker=tenant.name)


@pytest.mark.controls(CONTROL)
def test_tenant_identities_cannot_reach_other_tenants_namespaces(
    kube_probe: Any, kube_cluster: Any, kube_tenants: list[Any]
) -> None:
    for attacker in kube_tenants:
        for victim in kube_tenants:
            if victim is attacker:
                continue
            for client in identities(kube_cluster, attacker):
                for access in in_foreign_namespace(victim.namespace):
                    kube_probe.expect_denied(CONTROL, client, access, attacker=attacker.name, victim=victim.name)


@pytest.mark.controls(CONTROL)
def test_tenant_admin_is_refused_in_other_tenants_namespaces(kube_probe: Any, kube_tenants: list[Any]) -> None:
    for attacker in kube_tenants:
        for victim in kube_tenants:
            if victim is attacker:
                continue
            for path in (
                f"/api/v1/namespaces/{victim.namespace}/secrets",
                f"/api/v1/namespaces/{victim.namespace}/pods",
            ):
                response = attacker.admin.get(path)
                kube_probe.check(
                    CONTROL,
                    response.status == 403,
                    f"{attacker.admin.identity.user} GET {path}: {response.status} (403 expected)",
                    [response.evidence()],
                    attacker=attacker.name,
                    victim=victim.name,
                )


@pytest.mark.controls(CONTROL)
def test_tenant_admin_cannot_escalate_bind_or_relabel(kube_probe: Any, kube_tenants: list[Any]) -> None:
    for tenant in kube_tenants:
        for access in escalation_in_own(tenant.namespace):
            kube_probe.expect_denied(CONTROL, tenant.admin, access, attacker=tenant.name)


@pytest.mark.controls(CONTROL)
def test_tenant_admin_can_manage_its_own_namespace(kube_probe: Any, kube_tenants: list[Any]) -> None:
    for tenant in kube_tenants:
        for access in needed_in_own(tenant.namespace):
            kube_probe.expect_allowed(CONTROL, tenant.admin, access, attacker=tenant.name)
