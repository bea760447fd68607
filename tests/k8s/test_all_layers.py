"""One tenant on all layers: its namespace and its tenant in the reference app, from the API and the command line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantprobe.child import free_port
from tenantprobe.cli import app as cli_app
from tenantprobe.errors import ProfileError, ProvisioningError
from tenantprobe.kube.client.api import KubeClient
from tenantprobe.kube.client.app import AppTenants
from tenantprobe.kube.client.cluster import Cluster
from tenantprobe.kube.client.provision import deprovision, provision
from tenantprobe.kube.client.template import TenantTemplate
from tenantprobe.profiles import load_profile
from tenantprobe.stack import ReferenceStack
from tests.k8s.conftest import SECURE_TEMPLATE

ROOT = Path(__file__).parents[2]
PROFILE = load_profile(ROOT / "targets" / "reference.yaml")
TENANTPROBE = [sys.executable, "-c", "from tenantprobe.cli import main; main()"]


@pytest.fixture(scope="module")
def app(api: ReferenceStack) -> Iterator[AppTenants]:
    tenants = AppTenants.from_profile(api.base_url, PROFILE, key_file=api.key_file)
    yield tenants
    tenants.close()


def test_provision_creates_the_namespace_and_the_app_tenant_and_deprovision_removes_both(
    admin: KubeClient, secure_template: TenantTemplate, app: AppTenants, new_tenant: Callable[..., str]
) -> None:
    tenant = new_tenant()
    result = provision(admin, secure_template, tenant, app=app)
    assert result.app_tenant_id is not None
    assert app.find(tenant) == result.app_tenant_id
    assert result.steps[-1].what == f"{app.description} tenant {tenant}"
    assert result.seconds >= result.kubernetes_seconds + result.ready_seconds + result.app_seconds
    again = provision(admin, secure_template, tenant, app=app)
    assert again.app_tenant_id == result.app_tenant_id
    assert again.steps[-1].outcome == "applied"

    removed = deprovision(admin, secure_template, tenant, app=app)
    assert removed.steps[0].outcome == "deleted"
    assert app.find(tenant) is None
    assert admin.get(f"/api/v1/namespaces/{result.namespace}").status in (404, 200)  # gone or terminating


def test_app_layer_failure_rolls_back_the_namespace(
    admin: KubeClient, secure_template: TenantTemplate, new_tenant: Callable[..., str]
) -> None:
    unreachable = AppTenants(f"http://127.0.0.1:{free_port()}", PROFILE.provisioning, token="unused")
    tenant = new_tenant()
    namespace = secure_template.render_tenant(tenant).namespace
    with pytest.raises(ProvisioningError) as failure:
        provision(admin, secure_template, tenant, app=unreachable)
    assert f"failed while creating the tenant in {unreachable.description}" in str(failure.value)
    assert f"Namespace {namespace} (terminating)" in str(failure.value)
    response = admin.get(f"/api/v1/namespaces/{namespace}")
    assert response.status == 404 or response.body["status"]["phase"] == "Terminating"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TENANTPROBE, *args], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)


def test_cli_provisions_and_deprovisions_one_tenant_on_all_layers(
    kube_cluster: Cluster, api: ReferenceStack, app: AppTenants, new_tenant: Callable[..., str]
) -> None:
    tenant = new_tenant()
    layers = ["--kubeconfig", str(kube_cluster.kubeconfig), "--with-app-url", api.base_url]
    made = run_cli("provision", tenant, *layers, "--app-key-file", str(api.key_file))
    assert made.returncode == 0, made.stderr
    assert f"[1/12] Namespace tenant-{tenant}: created" in made.stdout
    assert f"[12/12] {app.description} tenant {tenant}" in made.stdout
    assert f"tenant {tenant} provisioned in " in made.stdout
    assert app.find(tenant) is not None

    removed = run_cli("deprovision", tenant, *layers, "--app-key-file", str(api.key_file))
    assert removed.returncode == 0, removed.stderr
    assert f"Namespace tenant-{tenant}: deleted" in removed.stdout
    assert app.find(tenant) is None
    assert "eyJ" not in made.stdout + made.stderr + removed.stdout + removed.stderr, "no token may be printed"


def test_cli_without_a_cluster_says_how_to_name_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["provision", "acme"], env={"KUBECONFIG": None, "HOME": str(tmp_path)})
    assert isinstance(result.exception, ProfileError)
    assert "no cluster: pass --kubeconfig, set KUBECONFIG" in str(result.exception)


def test_cli_names_a_bad_tenant_name(kube_cluster: Cluster) -> None:
    result = CliRunner().invoke(cli_app, ["provision", "Acme_EU", "--kubeconfig", str(kube_cluster.kubeconfig)])
    assert isinstance(result.exception, ProfileError)
    assert "tenant name 'Acme_EU': expected a DNS label" in str(result.exception)


def test_secure_template_path_used_by_the_cli_is_the_tested_one() -> None:
    assert (ROOT / "k8s" / "tenant-template").resolve() == SECURE_TEMPLATE.resolve()
