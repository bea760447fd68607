"""Tenant template variants, each with one realistic mistake that a Kubernetes suite must catch.

Each variant is a function that breaks a copy of the secure template in place. Its docstring
names the real-world mistake it imitates; ``EXPECTED`` names the suite that must fail and the
controls it must fail on.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

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


def make_variant(name: str, directory: Path, prefix: str) -> Path:
    """A copy of the secure template with the named mistake."""
    template = directory / name
    shutil.copytree(SECURE_TEMPLATE, template)
    EXPECTED[name][0](template, prefix)
    return template
