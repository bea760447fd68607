"""Fixtures of the network suite: probe pods in every tenant namespace and one probing run over all of them.

Where the probing happens:

- a cluster with a tenantprobe probe node already registered (a :class:`LocalProbeNode` of
  another process on this machine, e.g. the project's detection test): its node is used;
- the local control plane started for this run: a probe node (node agent + kube-router) is
  started on this machine;
- any other cluster: probing needs ``kubectl exec`` into probe pods of an agnhost-style image,
  which is not built yet, so the probing controls are *not assessed* (the policy audit still runs).

Each tenant gets two probe pods (``app: web`` and ``app: worker``) serving 8080/TCP and 8081/UDP;
a non-tenant namespace labelled as the ingress controller's holds one more, the "outside" peer:
reachable from it is what the template allows, reachable to it from a tenant is open egress.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tenantprobe.errors import TenantProbeError
from tenantprobe.kube.objects import probe_pod
from tenantprobe.kube.probenode import LocalProbeNode, ProbeNode, find_probe_node, local_probing_unavailable
from tenantprobe.kube.prober import MatrixResult, Prober
from tenantprobe.netpol import NetworkPolicy, PolicyEngine, PortProtocol

PORTS = (PortProtocol(8080, "TCP"), PortProtocol(8081, "UDP"))
ROLES = ("web", "worker")
READY_TIMEOUT = 60.0
REAL_CLUSTER_GAP = (
    "probing from inside pods on a cluster the user names needs exec into probe pods of an agnhost-style "
    "image carrying netprobe.py (tenantprobe.kube.prober.PodExec); that path is not built yet, so nothing "
    "was probed. The local control plane (no --kubeconfig) probes with a local node agent and kube-router."
)


@dataclass
class NetworkRun:
    """What the probing established, or why it could not: the tests turn it into records."""

    tenant_of: dict[str, str]  # namespace -> tenant name
    outside: str | None  # the non-tenant namespace, when it exists
    engine: PolicyEngine | None = None
    result: MatrixResult | None = None
    unavailable: str | None = None  # set when nothing could be probed
    facts: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def probe_node(kube_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeNode | str]:
    """The probe node of this machine for the run's cluster, or why there is none."""
    found = find_probe_node(kube_cluster.admin)
    if found is not None:
        yield found
        return
    if kube_cluster.control_plane is None:
        yield REAL_CLUSTER_GAP
        return
    reason = local_probing_unavailable()
    if reason:
        yield reason
        return
    local = LocalProbeNode(kube_cluster.admin, kube_cluster.kubeconfig, tmp_path_factory.mktemp("probe-node"))
    try:
        node = local.start()
    except TenantProbeError as exc:
        yield f"the local probe node did not start: {exc}"
        return
    yield node
    local.stop()


def _outside_namespace(kube_cluster: Any, kube_tenants: list[Any]) -> dict[str, Any] | None:
    variables = kube_tenants[0].rendered.variables
    label, value = variables.get("ingress_namespace_label"), variables.get("ingress_namespace_value")
    if not label or not value:
        return None
    name = f"{kube_tenants[0].name.rsplit('-', 1)[0]}-outside"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {label: value}}}


def _wait_running(admin: Any, keys: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The pod objects once all are Running with an IP, and the keys of those that never were."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        pods = [admin.get(f"/api/v1/namespaces/{k.split('/')[0]}/pods/{k.split('/')[1]}").body for k in keys]
        late = [k for k, p in zip(keys, pods, strict=True) if (p.get("status") or {}).get("phase") != "Running"]
        if not late or time.monotonic() > deadline:
            return pods, late
        time.sleep(0.2)


@pytest.fixture(scope="session")
def network_run(kube_cluster: Any, kube_tenants: list[Any], probe_node: ProbeNode | str) -> Iterator[NetworkRun]:
    """Probe pods everywhere, the expected truth table from the cluster's policies, and the observed one."""
    admin = kube_cluster.admin
    outside = _outside_namespace(kube_cluster, kube_tenants)
    run = NetworkRun({t.namespace: t.name for t in kube_tenants}, outside["metadata"]["name"] if outside else None)
    namespaces = list(run.tenant_of) + ([run.outside] if run.outside else [])
    if isinstance(probe_node, str):
        run.unavailable = probe_node
    else:
        run.facts["enforcer"] = probe_node.enforcer
        _probe(run, admin, probe_node, outside, namespaces)
    yield run
    if outside is not None and kube_cluster.control_plane is None:
        admin.delete(f"/api/v1/namespaces/{run.outside}")


def _probe(run: NetworkRun, admin: Any, node: ProbeNode, outside: dict[str, Any] | None, namespaces: list[str]) -> None:
    if not node.healthy():
        run.unavailable = f"the enforcer ({node.enforcer}) is not healthy at {node.health_url}"
        return
    if outside is not None:
        admin.apply(outside)
    keys = []
    for namespace in namespaces:
        roles = ROLES if namespace in run.tenant_of else ("ingress",)
        for role in roles:
            manifest = probe_pod(f"probe-{role}", namespace, {"app": role}, [tuple(p) for p in PORTS], node.name)
            response = admin.apply(manifest)
            if not response.ok:
                run.unavailable = f"creating probe pod {namespace}/probe-{role}: {response.status} {response.message}"
                return
            keys.append(f"{namespace}/probe-{role}")
    pods, late = _wait_running(admin, keys)
    if late:
        run.unavailable = f"probe pods not Running after {READY_TIMEOUT:.0f} s: {', '.join(late)}"
        return
    if not node.wait_synced(keys):
        run.unavailable = f"the enforcer ({node.enforcer}) did not apply rules for every probe pod within 60 s"
        return
    namespace_objects = [admin.get(f"/api/v1/namespaces/{n}").body for n in namespaces]
    policies = [
        p for n in namespaces for p in admin.items(f"/apis/networking.k8s.io/v1/namespaces/{n}/networkpolicies")
    ]
    run.engine = PolicyEngine(namespace_objects, pods, policies)
    run.result = Prober(node.exec_for(pods)).run(run.engine.matrix(PORTS), run.engine.pods)
    if not node.healthy():  # evidence gathered while the enforcer was down proves nothing
        run.unavailable, run.result = f"the enforcer ({node.enforcer}) stopped answering during the probes", None


@pytest.fixture(scope="session")
def tenant_policies(kube_cluster: Any, kube_tenants: list[Any]) -> dict[str, list[NetworkPolicy]]:
    """The NetworkPolicies of each tenant namespace, as the cluster has them."""
    path = "/apis/networking.k8s.io/v1/namespaces/{}/networkpolicies"
    return {
        t.namespace: [NetworkPolicy.from_dict(p) for p in kube_cluster.admin.items(path.format(t.namespace))]
        for t in kube_tenants
    }
