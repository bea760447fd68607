"""Fixtures of the network suite: probe pods in every tenant namespace and one probing run over all of them.

Where the probing happens (every probe is a ``pods/exec`` through the apiserver):

- ``--probe-node NAME``: probe pods are bound to that node of the cluster, whose own network
  plugin enforces the policies;
- a cluster with a tenantprobe probe node already registered (a :class:`LocalProbeNode` of
  another process on this machine, e.g. the project's detection test): its node is used;
- the local control plane started for this run: a probe node (node agent + kube-router) is
  started on this machine;
- any other cluster: its scheduler places the probe pods (``--probe-image``, default
  ``docker.io/library/python:3.13-alpine``) and its network plugin enforces.

The pods and the run itself are :mod:`tenantprobe.kube.network.run`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tenantprobe.errors import TenantProbeError
from tenantprobe.kube.network.pods import PROBE_IMAGE
from tenantprobe.kube.network.policy import NetworkPolicy
from tenantprobe.kube.network.probenode import (
    ClusterNodes,
    LocalProbeNode,
    ProbeSite,
    find_probe_node,
    local_probing_unavailable,
)
from tenantprobe.kube.network.run import NetworkRun, outside_namespace, probe_tenants
from tenantprobe.kube.plugin import OPTION_PROBE_IMAGE, OPTION_PROBE_NODE, OPTION_PROBE_READY_TIMEOUT


@pytest.fixture(scope="session")
def probe_node(
    request: pytest.FixtureRequest, kube_cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProbeSite | str]:
    """Where the probe pods run for the run's cluster, or why they cannot run anywhere."""
    named = request.config.getoption(OPTION_PROBE_NODE)
    if named:
        yield ClusterNodes(named)
        return
    found = find_probe_node(kube_cluster.admin)
    if found is not None:
        yield found
        return
    if kube_cluster.control_plane is None:
        yield ClusterNodes()
        return
    reason = local_probing_unavailable()
    if reason:
        yield reason
        return
    workdir = tmp_path_factory.mktemp("probe-node")
    local = LocalProbeNode(
        kube_cluster.admin, kube_cluster.kubeconfig, workdir, kube_cluster.control_plane.kubelet_client_ca
    )
    try:
        node = local.start()
    except TenantProbeError as exc:
        yield f"the local probe node did not start: {exc}"
        return
    yield node
    local.stop()


@pytest.fixture(scope="session")
def network_run(
    request: pytest.FixtureRequest, kube_cluster: Any, kube_tenants: list[Any], probe_node: ProbeSite | str
) -> Iterator[NetworkRun]:
    """Probe pods everywhere, the expected truth table from the cluster's policies, and the observed one."""
    tenant_of = {t.namespace: t.name for t in kube_tenants}
    if isinstance(probe_node, str):
        yield NetworkRun(tenant_of, None, unavailable=probe_node)
        return
    name = f"{kube_tenants[0].name.rsplit('-', 1)[0]}-outside"
    outside = outside_namespace(name, kube_tenants[0].rendered.variables)
    options = request.config.getoption
    image = options(OPTION_PROBE_IMAGE) or PROBE_IMAGE
    run = probe_tenants(kube_cluster.admin, probe_node, tenant_of, outside, image, options(OPTION_PROBE_READY_TIMEOUT))
    yield run
    if run.outside is not None and kube_cluster.control_plane is None:
        kube_cluster.admin.delete(f"/api/v1/namespaces/{run.outside}")


@pytest.fixture(scope="session")
def tenant_policies(kube_cluster: Any, kube_tenants: list[Any]) -> dict[str, list[NetworkPolicy]]:
    """The NetworkPolicies of each tenant namespace, as the cluster has them."""
    path = "/apis/networking.k8s.io/v1/namespaces/{}/networkpolicies"
    return {
        t.namespace: [NetworkPolicy.from_dict(p) for p in kube_cluster.admin.items(path.format(t.namespace))]
        for t in kube_tenants
    }
