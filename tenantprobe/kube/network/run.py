"""One network probing run: probe pods in tenant namespaces (and one outside), the policies' expected
truth table, and the observed one. The network suite and ``benchmarks/network_matrix.py`` share it.

Each tenant namespace gets two probe pods (``app: web`` and ``app: worker``) serving 8080/TCP and
8081/UDP; a namespace carrying the template's ingress label holds one more, the "outside" peer:
reachable *from* it is what the template allows; reachable *to* it from a tenant is open egress.

Example::

    run = probe_tenants(cluster.admin, node, {"tenant-a": "a", "tenant-b": "b"}, outside_namespace(...))
    run.result.table(PORTS[0]) if run.result else run.unavailable
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tenantprobe.kube.client.api import KubeClient
from tenantprobe.kube.network.pods import PROBE_IMAGE, netprobe_config_map, probe_pod
from tenantprobe.kube.network.policy import PolicyEngine, PortProtocol
from tenantprobe.kube.network.probenode import ProbeSite
from tenantprobe.kube.network.prober import KubeExec, MatrixResult, Prober

PORTS = (PortProtocol(8080, "TCP"), PortProtocol(8081, "UDP"))
ROLES = ("web", "worker")
READY_TIMEOUT = 120.0


@dataclass
class NetworkRun:
    """What the probing established, or why it could not (``unavailable``)."""

    tenant_of: dict[str, str]  # namespace -> tenant name
    outside: str | None  # the non-tenant namespace, when the template names an ingress label
    engine: PolicyEngine | None = None
    result: MatrixResult | None = None
    unavailable: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # enforcer, setup seconds


def outside_namespace(name: str, variables: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest of the outside namespace, labelled as the template's ingress namespace."""
    label, value = variables.get("ingress_namespace_label"), variables.get("ingress_namespace_value")
    if not label or not value:
        return None
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {label: value}}}


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    return status.get("phase") == "Running" and conditions.get("Ready") == "True"


def _wait_ready(admin: KubeClient, keys: list[str], timeout: float) -> tuple[list[dict[str, Any]], list[str]]:
    """The pod objects once all are Running and Ready, and the keys of those that never were."""
    deadline = time.monotonic() + timeout
    while True:
        pods = []
        for namespace in dict.fromkeys(k.split("/")[0] for k in keys):
            pods += admin.items(f"/api/v1/namespaces/{namespace}/pods", label_selector="app.kubernetes.io/created-by")
        by_key = {f"{p['metadata']['namespace']}/{p['metadata']['name']}": p for p in pods}
        late = [k for k in keys if not _ready(by_key.get(k, {}))]
        if not late or time.monotonic() > deadline:
            return [by_key[k] for k in keys if k in by_key], late
        time.sleep(0.2)


def probe_tenants(
    admin: KubeClient,
    node: ProbeSite,
    tenant_of: dict[str, str],
    outside: dict[str, Any] | None,
    image: str = PROBE_IMAGE,
    ready_timeout: float = READY_TIMEOUT,
) -> NetworkRun:
    """Deploy the probe pods on ``node``, wait for the enforcer, and probe every pair on every port."""
    run = NetworkRun(
        dict(tenant_of), outside["metadata"]["name"] if outside else None, facts={"enforcer": node.enforcer}
    )
    if reason := node.unhealthy():
        run.unavailable = reason
        return run
    started = time.monotonic()
    if outside is not None:
        admin.apply(outside)
    namespaces = list(tenant_of) + ([run.outside] if run.outside else [])
    keys = []
    ports = [(p.port, p.protocol) for p in PORTS]
    for namespace in namespaces:
        manifests = [netprobe_config_map(namespace)] + [
            probe_pod(f"probe-{role}", namespace, {"app": role}, ports, node.name, image)
            for role in (ROLES if namespace in tenant_of else ("ingress",))
        ]
        for manifest in manifests:
            response = admin.apply(manifest)
            if not response.ok:
                what = f"{manifest['kind']} {namespace}/{manifest['metadata']['name']}"
                run.unavailable = f"creating probe {what}: {response.status} {response.message}"
                return run
        keys += [f"{namespace}/{m['metadata']['name']}" for m in manifests if m["kind"] == "Pod"]
    pods, late = _wait_ready(admin, keys, ready_timeout)
    if late:
        run.unavailable = f"probe pods not Running and Ready after {ready_timeout:.0f} s: {', '.join(late)}"
        return run
    if not node.wait_synced(keys):
        run.unavailable = f"the enforcer ({node.enforcer}) did not apply rules for every probe pod within 60 s"
        return run
    run.facts["setup_seconds"] = round(time.monotonic() - started, 3)
    namespace_objects = [admin.get(f"/api/v1/namespaces/{n}").body for n in namespaces]
    path = "/apis/networking.k8s.io/v1/namespaces/{}/networkpolicies"
    policies = [p for n in namespaces for p in admin.items(path.format(n))]
    run.engine = PolicyEngine(namespace_objects, pods, policies)
    run.result = Prober(KubeExec(admin)).run(run.engine.matrix(PORTS), run.engine.pods)
    if reason := node.unhealthy():  # evidence gathered while the enforcer was down proves nothing
        run.unavailable, run.result = f"after the probes: {reason}", None
    return run
