"""Provisioning a tenant's namespace on a real apiserver: usable at once, idempotent, rolled back on failure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tenantprobe.errors import ProvisioningError
from tenantprobe.kube.client.api import KubeClient, object_path
from tenantprobe.kube.client.objects import restricted_pod
from tenantprobe.kube.client.provision import deprovision, provision
from tenantprobe.kube.client.template import TenantTemplate
from tests.k8s.conftest import copy_template

CLUSTER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "${namespace}-reader"}
rules: [{apiGroups: [""], resources: [namespaces], resourceNames: ["${namespace}"], verbs: [get]}]
"""
# roleRef.kind must be Role or ClusterRole: the apiserver refuses this binding as invalid.
BROKEN_BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: zz-broken}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Secret, name: x}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: nobody}]
"""


def namespace_phase(admin: KubeClient, namespace: str) -> str | None:
    response = admin.get(f"/api/v1/namespaces/{namespace}")
    return None if response.status == 404 else str(response.body["status"]["phase"])


def test_provisioned_namespace_is_usable_at_once(
    admin: KubeClient, secure_template: TenantTemplate, new_tenant: Callable[..., str]
) -> None:
    result = provision(admin, secure_template, new_tenant())
    assert [step.outcome for step in result.steps] == ["created"] * 10 + ["ready"]
    # No retry: the quota status and the default service account are there when provision returns.
    pod = restricted_pod("first", result.namespace)
    created = admin.create(pod)
    assert created.status == 201, created.message
    assert created.body["spec"]["containers"][0]["resources"]["limits"] == {
        "cpu": "500m",
        "ephemeral-storage": "1Gi",
        "memory": "512Mi",
    }


def test_provisioning_again_changes_nothing(
    admin: KubeClient, secure_template: TenantTemplate, new_tenant: Callable[..., str]
) -> None:
    tenant = new_tenant()
    provision(admin, secure_template, tenant)
    objects = secure_template.render_tenant(tenant).objects
    versions = {object_path(m): admin.get(object_path(m)).body["metadata"]["resourceVersion"] for m in objects}
    again = provision(admin, secure_template, tenant)
    assert {step.outcome for step in again.steps} == {"applied", "ready"}
    assert {path: admin.get(path).body["metadata"]["resourceVersion"] for path in versions} == versions


def test_failure_half_way_removes_what_was_created_and_names_the_step(
    admin: KubeClient, new_tenant: Callable[..., str], tmp_path: Path
) -> None:
    template = copy_template(tmp_path / "t", {"45-clusterrole.yaml": CLUSTER_ROLE, "99-broken.yaml": BROKEN_BINDING})
    tenant = new_tenant(template)
    namespace = template.render_tenant(tenant).namespace
    with pytest.raises(ProvisioningError) as failure:
        provision(admin, template, tenant)
    message = str(failure.value)
    assert f"failed while applying RoleBinding {namespace}/zz-broken: 422" in message
    assert f"rolled back: ClusterRole {namespace}-reader, Namespace {namespace} (terminating)" in message
    assert admin.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{namespace}-reader").status == 404
    assert namespace_phase(admin, namespace) in (None, "Terminating")


def test_failed_reprovisioning_leaves_an_existing_tenant_alone(
    admin: KubeClient, secure_template: TenantTemplate, new_tenant: Callable[..., str], tmp_path: Path
) -> None:
    tenant = new_tenant()
    provision(admin, secure_template, tenant)
    broken = copy_template(tmp_path / "t", {"99-broken.yaml": BROKEN_BINDING})
    with pytest.raises(ProvisioningError, match="left in place \\(they existed before this run\\): Namespace"):
        provision(admin, broken, tenant)
    namespace = secure_template.render_tenant(tenant).namespace
    assert namespace_phase(admin, namespace) == "Active"
    assert admin.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/tenant-admin").ok


def test_deprovision_removes_cluster_scoped_objects_and_the_namespace_and_can_run_again(
    admin: KubeClient, new_tenant: Callable[..., str], tmp_path: Path
) -> None:
    template = copy_template(tmp_path / "t", {"45-clusterrole.yaml": CLUSTER_ROLE})
    tenant = new_tenant(template)
    namespace = provision(admin, template, tenant).namespace
    first = deprovision(admin, template, tenant)
    assert [(step.what, step.outcome) for step in first.steps] == [
        (f"ClusterRole {namespace}-reader", "deleted"),
        (f"Namespace {namespace}", "deleted"),
    ]
    assert namespace_phase(admin, namespace) in (None, "Terminating")
    second = deprovision(admin, template, tenant)
    assert {step.outcome for step in second.steps} <= {"absent", "deleted"}  # deleted: still terminating
    assert second.steps[0].outcome == "absent"


def test_deprovision_finds_labelled_cluster_objects_the_template_no_longer_has(
    admin: KubeClient, secure_template: TenantTemplate, new_tenant: Callable[..., str], tmp_path: Path
) -> None:
    template = copy_template(tmp_path / "t", {"45-clusterrole.yaml": CLUSTER_ROLE})
    tenant = new_tenant(template)
    namespace = provision(admin, template, tenant).namespace
    result = deprovision(admin, secure_template, tenant)
    assert (f"ClusterRole {namespace}-reader", "deleted") in [(step.what, step.outcome) for step in result.steps]
