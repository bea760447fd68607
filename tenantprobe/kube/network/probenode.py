"""Where probe pods run: the local probe node (a node agent and kube-router on this machine), or a cluster's own nodes.

:class:`LocalProbeNode` starts both for a local control plane and writes what another process
needs onto the Node object (label, enforcer and its health URL), so a suite run in a subprocess
against the same cluster finds it with :func:`find_probe_node` instead of starting a second
enforcer (there can be only one per machine). A :class:`ProbeNode` is that handle: which node
to bind probe pods to, and whether the enforcer is healthy and has rules for them.
:class:`ClusterNodes` is the same for a cluster tenantprobe did not set up: its scheduler places
the pods (or ``--probe-node`` names a node) and its network plugin enforces, unobserved, so the
run waits a fixed settle time after the pods are Ready, as the upstream e2e tests and cyclonus do.
Either way the pods are entered with ``pods/exec`` (:class:`tenantprobe.kube.network.prober.KubeExec`).

Example::

    with LocalProbeNode(cluster.admin, cluster.kubeconfig, workdir, control_plane.kubelet_client_ca) as local:
        node = find_probe_node(cluster.admin)      # also from another process
        node.unhealthy()                           # None, or why the enforcer's evidence would not count
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tenantprobe.errors import TargetError
from tenantprobe.kube.client.api import KubeClient
from tenantprobe.kube.local import enforcer
from tenantprobe.kube.local.nodeagent import MERGE_PATCH, NODE_LABEL, NodeAgent
from tenantprobe.kube.local.podnet import BRIDGE_NF
from tenantprobe.lifecycle import Service

ENFORCER_ANNOTATION = "tenantprobe.io/enforcer"
HEALTH_ANNOTATION = "tenantprobe.io/enforcer-health"


class ProbeSite(Protocol):
    """Where the probe pods run, and how to tell the enforcer has caught up with them."""

    @property
    def name(self) -> str | None:
        """The node to bind probe pods to; None lets the cluster's scheduler place them."""
        ...

    @property
    def enforcer(self) -> str: ...

    def unhealthy(self) -> str | None:
        """Why probes run now would prove nothing about the enforcer, or None."""
        ...

    def wait_synced(self, pods: Iterable[str], timeout: float = 60.0) -> bool: ...


@dataclass(frozen=True)
class ProbeNode:
    """A Ready probe node on this machine, found on the cluster or just started."""

    name: str
    enforcer: str  # e.g. "kube-router v2.1.0 (firewall only)"
    health_url: str

    def unhealthy(self) -> str | None:
        return (
            None
            if enforcer.healthy(self.health_url)
            else f"the enforcer ({self.enforcer}) is not healthy at {self.health_url}"
        )

    def wait_synced(self, pods: Iterable[str], timeout: float = 60.0) -> bool:
        return enforcer.wait_synced(pods, timeout)


@dataclass(frozen=True)
class ClusterNodes:
    """A cluster's own nodes and network plugin, which tenantprobe cannot inspect: it waits ``settle`` seconds."""

    name: str | None = None
    settle: float = 5.0
    enforcer: str = "the cluster's network plugin"

    def unhealthy(self) -> str | None:
        return None  # no health to read; the servers' pre-checks and the probes themselves are the evidence

    def wait_synced(self, pods: Iterable[str], timeout: float = 60.0) -> bool:
        time.sleep(min(self.settle, timeout))
        return True


def find_probe_node(client: KubeClient) -> ProbeNode | None:
    """The probe node a :class:`LocalProbeNode` registered on this cluster, if any."""
    for node in client.items("/api/v1/nodes", label_selector=f"{NODE_LABEL}=true"):
        annotations = node["metadata"].get("annotations") or {}
        if HEALTH_ANNOTATION in annotations:
            return ProbeNode(
                node["metadata"]["name"], annotations.get(ENFORCER_ANNOTATION, ""), annotations[HEALTH_ANNOTATION]
            )
    return None


def local_probing_unavailable() -> str | None:
    """Why this machine cannot host a probe node, or None."""
    if os.geteuid() != 0:
        return "the local probe node needs root (network namespaces, veths, iptables); run the suite as root"
    if not BRIDGE_NF.exists():
        return f"{BRIDGE_NF} is missing: the kernel has no br_netfilter, so no enforcer sees bridged traffic"
    return None


class LocalProbeNode(Service["ProbeNode"]):
    """Node agent + kube-router for the cluster of ``client``; :meth:`stop` removes both and their traces."""

    def __init__(self, client: KubeClient, kubeconfig: Path, workdir: Path, kubelet_client_ca: Path) -> None:
        self.client = client
        self.agent = NodeAgent(client, f"tenantprobe-{secrets.token_hex(3)}", workdir, kubelet_client_ca)
        self.enforcer = enforcer.KubeRouter(kubeconfig, self.agent.node_name, workdir)
        self.node: ProbeNode | None = None

    def start(self) -> ProbeNode:
        self.agent.start()
        try:
            self.enforcer.start()
            description = f"kube-router {self.enforcer.version} (firewall only)"
            annotations = {ENFORCER_ANNOTATION: description, HEALTH_ANNOTATION: self.enforcer.health_url}
            path = f"/api/v1/nodes/{self.agent.node_name}"
            response = self.client.request(
                "PATCH", path, body={"metadata": {"annotations": annotations}}, content_type=MERGE_PATCH
            )
            if not response.ok:
                raise TargetError(f"PATCH {path}: {response.status} {response.message}")
        except BaseException:
            self.stop()
            raise
        self.node = ProbeNode(self.agent.node_name, description, self.enforcer.health_url)
        return self.node

    def stop(self) -> None:
        self.enforcer.stop()
        self.agent.stop()
