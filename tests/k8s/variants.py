"""Tenant template variants, each with one realistic mistake that a Kubernetes suite must catch.

Each variant is a function that breaks a copy of the secure template in place. Its docstring
names the real-world mistake it imitates; ``EXPECTED`` names the suite that must fail and the
controls it must fail on.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.conftest import SECURE_TEMPLATE

Variant = Callable[[Path, str], None]


def no_resource_quota(template: Path, prefix: str) -> None:
    """The quota manifest was left out (or failed to apply and nobody noticed): one tenant can
    exhaust the cluster's pods, IPs and etcd."""
    (template / "10-resourcequota.yaml").unlink()


def foreign_group_binding(template: Path, prefix: str) -> None:
    """The RoleBinding was copied from another tenant's manifests and still names that tenant's
    admin group next to the right one: tenant 2's admins administer every other tenant too."""
    path = template / "41-rolebinding.yaml"
    binding = yaml.safe_load(path.read_text())
    binding["subjects"].append(
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": f"tenant:{prefix}-2:admins"}
    )
    path.write_text(yaml.safe_dump(binding))


def namespace_without_psa_labels(template: Path, prefix: str) -> None:
    """The namespace is created without Pod Security labels (the cluster default is privileged):
    a tenant can run privileged, host-namespace and hostPath pods."""
    path = template / "00-namespace.yaml"
    namespace = yaml.safe_load(path.read_text())
    labels = namespace["metadata"]["labels"]
    namespace["metadata"]["labels"] = {k: v for k, v in labels.items() if not k.startswith("pod-security.")}
    path.write_text(yaml.safe_dump(namespace))


def admin_cluster_role_binding(template: Path, prefix: str) -> None:
    """The tenant's admins got a ClusterRoleBinding to the built-in admin role where a RoleBinding
    was meant: they administer every namespace of the cluster."""
    (template / "42-clusterrolebinding.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "${namespace}-admin"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "${admin_group}"}],
            }
        )
    )


def _edit_policies(template: Path, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    path = template / "20-networkpolicies.yaml"
    policies = [p for p in yaml.safe_load_all(path.read_text()) if p]
    path.write_text(yaml.safe_dump_all(edit(policies)))


def _named(policies: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(p for p in policies if p["metadata"]["name"] == name)


def no_default_deny(template: Path, prefix: str) -> None:
    """The default-deny policy was dropped ("the allow policies already isolate the pods"): isolation
    now hangs on the allows, and the first allow someone narrows or deletes opens the namespace."""
    _edit_policies(template, lambda ps: [p for p in ps if p["metadata"]["name"] != "default-deny"])


def namespace_selector_everything(template: Path, prefix: str) -> None:
    """``namespaceSelector: {}`` written to mean "this namespace" in the same-namespace allow: it
    selects every namespace, so every tenant's pods may talk to every other tenant's."""

    def edit(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        spec = _named(policies, "allow-same-namespace")["spec"]
        spec["ingress"] = [{"from": [{"namespaceSelector": {}}]}]
        spec["egress"] = [{"to": [{"namespaceSelector": {}}]}]
        return policies

    _edit_policies(template, edit)


def egress_left_open(template: Path, prefix: str) -> None:
    """Only ingress was locked down (policyTypes [Ingress] everywhere, the DNS egress allow dropped as
    "not needed"): a compromised pod may connect out to anything, the platform and other tenants included."""

    def edit(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [p for p in policies if p["metadata"]["name"] != "allow-dns-egress"]
        for policy in kept:
            policy["spec"]["policyTypes"] = ["Ingress"]
            policy["spec"].pop("egress", None)
        return kept

    _edit_policies(template, edit)


def policy_on_wrong_pods(template: Path, prefix: str) -> None:
    """The policies were written for the web tier (``podSelector: {app: web}``) and select nothing
    else: the tenant's worker pods are open to every other tenant in both directions."""

    def edit(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for policy in policies:
            policy["spec"]["podSelector"] = {"matchLabels": {"app": "web"}}
        return policies

    _edit_policies(template, edit)


# variant -> (suite, controls that must fail)
EXPECTED: dict[str, tuple[Variant, str, set[str]]] = {
    "no-resource-quota": (no_resource_quota, "suites/quota", {"INFRA-RESOURCE-QUOTA"}),
    "foreign-group-binding": (foreign_group_binding, "suites/rbac", {"INFRA-RBAC-TENANT-SCOPE"}),
    "namespace-without-psa-labels": (
        namespace_without_psa_labels,
        "suites/rbac",
        {"INFRA-NAMESPACE-PSA", "INFRA-POD-SECURITY"},
    ),
    "admin-cluster-role-binding": (admin_cluster_role_binding, "suites/rbac", {"INFRA-RBAC-TENANT-SCOPE"}),
}


# Network variants run against one probe node (one kube-router per machine), in their own test.
NETWORK_EXPECTED: dict[str, tuple[Variant, str, set[str]]] = {
    "no-default-deny": (no_default_deny, "suites/network", {"NET-DEFAULT-DENY"}),
    "namespace-selector-everything": (
        namespace_selector_everything,
        "suites/network",
        {"NET-CROSS-TENANT-BLOCKED", "NET-EGRESS-RESTRICTED"},
    ),
    "egress-left-open": (egress_left_open, "suites/network", {"NET-DEFAULT-DENY", "NET-EGRESS-RESTRICTED"}),
    "policy-on-wrong-pods": (
        policy_on_wrong_pods,
        "suites/network",
        {"NET-DEFAULT-DENY", "NET-CROSS-TENANT-BLOCKED", "NET-EGRESS-RESTRICTED"},
    ),
}


def make_variant(name: str, directory: Path, prefix: str) -> Path:
    """A copy of the secure template with the named mistake."""
    template = directory / name
    shutil.copytree(SECURE_TEMPLATE, template)
    (EXPECTED.get(name) or NETWORK_EXPECTED[name])[0](template, prefix)
    return template
