"""Kubernetes fixtures: the session's cluster (``KUBECONFIG`` / ``--kubeconfig``, else a local
control plane built and started for the run) and tenants that clean up after themselves.

The cluster fixture is the plugin's ``kube_cluster`` (``tenantprobe/kube/plugin.py``), the one the
suites use; the tests never skip for want of a cluster.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tenantprobe.kube.client.api import KubeClient
from tenantprobe.kube.client.cluster import Cluster
from tenantprobe.kube.client.provision import deprovision
from tenantprobe.kube.client.template import TenantTemplate
from tenantprobe.records import ResultWriter

SECURE_TEMPLATE = Path(__file__).parents[2] / "k8s" / "tenant-template"


@pytest.fixture(scope="session")
def results_writer(tmp_path_factory: pytest.TempPathFactory) -> ResultWriter:
    """Records written by fixtures of these tests stay out of ./results."""
    return ResultWriter(tmp_path_factory.mktemp("results"), "tests-k8s")


@pytest.fixture(scope="session")
def admin(kube_cluster: Cluster) -> KubeClient:
    return kube_cluster.admin


@pytest.fixture(scope="session")
def secure_template() -> TenantTemplate:
    return TenantTemplate.load(SECURE_TEMPLATE)


@pytest.fixture
def new_tenant(kube_cluster: Cluster, secure_template: TenantTemplate) -> Iterator[Callable[..., str]]:
    """Fresh tenant names; on a cluster the user named, the tenants are deprovisioned afterwards."""
    made: list[tuple[str, TenantTemplate]] = []

    def name(template: TenantTemplate = secure_template) -> str:
        tenant = f"t{uuid.uuid4().hex[:10]}"
        made.append((tenant, template))
        return tenant

    yield name
    if kube_cluster.control_plane is None:
        for tenant, template in made:
            deprovision(kube_cluster.admin, template, tenant)


def copy_template(directory: Path, extra: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> TenantTemplate:
    """The secure template with files added (name -> YAML text) or removed."""
    import shutil

    shutil.copytree(SECURE_TEMPLATE, directory)
    for name in drop:
        (directory / name).unlink()
    for name, text in (extra or {}).items():
        (directory / name).write_text(text)
    return TenantTemplate.load(directory)
