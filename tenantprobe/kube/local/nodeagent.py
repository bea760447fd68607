"""A node agent for clusters without kubelets: gives the pods bound to its Node a network namespace and servers.

It does the few things of a kubelet that network probing needs, nothing else: it registers a
Node (Ready, with the bridge's address as its InternalIP), serves the kubelet's exec endpoint
for the probe client (:mod:`execserver`, so ``pods/exec`` through the apiserver works as on a
real cluster), and for each pod bound to it
(``spec.nodeName``) it creates a network namespace on the bridge (:mod:`podnet`), starts
:mod:`netprobe` servers there on the pod's declared TCP and UDP ports, and patches the pod's
status (podIP, hostIP, Running, Ready) through the API. That status is what a NetworkPolicy
enforcer such as kube-router reads to find pod addresses. A pod being deleted is torn down and
its deletion completed, as a kubelet would. No scheduler runs: pods name the node themselves.

Example::

    agent = NodeAgent(cluster.admin, "tenantprobe-node", workdir, control_plane.kubelet_client_ca).start()
    ...   # create pods with spec.nodeName = agent.node_name
    agent.netns_of("tenant-a", "probe-a")   # where `ip netns exec` runs a pod's commands
    cluster.admin.exec("tenant-a", "probe-a", ["python", "/x/netprobe.py", "connect", ...])  # the same, via the API
    agent.stop()
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantprobe.child import Child, NotReady, wait_ready
from tenantprobe.errors import TargetError
from tenantprobe.kube.client.api import KubeClient
from tenantprobe.kube.local.execserver import ExecServer
from tenantprobe.kube.local.podnet import PodNetwork, sweep_stale
from tenantprobe.kube.network import netprobe

NODE_LABEL = "tenantprobe.io/probe-node"
MERGE_PATCH = "application/merge-patch+json"
POLL_SECONDS = 0.2
SERVER_START_SECONDS = 30.0


@dataclass
class _PodState:
    key: str
    server: Child
    netns: str


def _ports(pod: dict[str, Any]) -> tuple[list[int], list[int]]:
    tcp: list[int] = []
    udp: list[int] = []
    for container in pod["spec"].get("containers") or []:
        for port in container.get("ports") or []:
            (udp if port.get("protocol") == "UDP" else tcp).append(int(port["containerPort"]))
    return tcp, udp


class NodeAgent:
    """One Node and the network namespaces of its pods; :meth:`stop` removes all of them."""

    def __init__(
        self,
        client: KubeClient,
        node_name: str,
        workdir: Path,
        kubelet_client_ca: Path,
        network: PodNetwork | None = None,
    ) -> None:
        self.client = client
        self.node_name = node_name
        self.workdir = workdir
        self.kubelet_client_ca = kubelet_client_ca
        self.network = network or PodNetwork()
        self.exec_server: ExecServer | None = None
        self.pods: dict[str, _PodState] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def node_ip(self) -> str:
        return self.network.gateway

    def start(self) -> NodeAgent:
        sweep_stale()
        self.network.create_bridge()
        try:
            self.exec_server = ExecServer(self.node_ip, self.kubelet_client_ca, self.workdir, self.netns_of).start()
            self._register(self.exec_server.port)
            self._thread = threading.Thread(target=self._run, name=f"node-agent-{self.node_name}", daemon=True)
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for key in list(self.pods):
            self._teardown(key)
        if self.exec_server is not None:
            self.exec_server.stop()
        self.network.teardown()
        with contextlib.suppress(TargetError):
            self.client.delete(f"/api/v1/nodes/{self.node_name}")

    def netns_of(self, namespace: str, name: str) -> str | None:
        state = self.pods.get(f"{namespace}/{name}")
        return state.netns if state else None

    # ------------------------------------------------------------------ internals
    def _register(self, exec_port: int) -> None:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "labels": {NODE_LABEL: "true", "kubernetes.io/hostname": self.node_name},
            },
            "spec": {"podCIDR": str(self.network.subnet), "podCIDRs": [str(self.network.subnet)]},
        }
        response = self.client.request("POST", "/api/v1/nodes", body=node)
        if not response.ok:
            raise TargetError(f"registering Node {self.node_name}: {response.status} {response.message}")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        status = {
            "status": {
                "daemonEndpoints": {"kubeletEndpoint": {"Port": exec_port}},
                "addresses": [
                    {"type": "InternalIP", "address": self.node_ip},
                    {"type": "Hostname", "address": self.node_name},
                ],
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "TenantprobeNodeAgent",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    }
                ],
            }
        }
        self._patch(f"/api/v1/nodes/{self.node_name}/status", status)

    def _patch(self, path: str, body: dict[str, Any]) -> None:
        response = self.client.request("PATCH", path, body=body, content_type=MERGE_PATCH)
        if not response.ok:
            raise TargetError(f"PATCH {path}: {response.status} {response.message}")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sync()
            except TargetError as exc:  # keep serving; the suite sees the pod not Ready and says why
                self.errors.append(str(exc))
            self._stop.wait(POLL_SECONDS)

    def _sync(self) -> None:
        response = self.client.request(
            "GET", "/api/v1/pods", query={"fieldSelector": f"spec.nodeName={self.node_name}"}
        )
        if not response.ok:
            raise TargetError(f"listing the pods of node {self.node_name}: {response.status} {response.message}")
        pods = response.body.get("items", [])
        seen = set()
        for pod in pods:
            meta = pod["metadata"]
            key = f"{meta['namespace']}/{meta['name']}"
            seen.add(key)
            if meta.get("deletionTimestamp"):
                self._teardown(key)
                self.client.request(
                    "DELETE",
                    f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                    body={"gracePeriodSeconds": 0},
                )
            elif key not in self.pods:
                self._set_up(key, pod)
        for key in set(self.pods) - seen:
            self._teardown(key)

    def _set_up(self, key: str, pod: dict[str, Any]) -> None:
        interface = self.network.add_pod(key)
        tcp, udp = _ports(pod)
        args = [*(f"--tcp={p}" for p in tcp), *(f"--udp={p}" for p in udp)]
        # Started from the agent's thread: it dies with it, so a killed run leaves no server holding a namespace.
        server = Child(
            f"the probe server of pod {key}",
            ["ip", "netns", "exec", interface.netns, sys.executable, netprobe.__file__, "serve", *args],
            self.workdir / "pods" / f"{interface.netns}.log",
        ).start()
        self.pods[key] = _PodState(key, server, interface.netns)

        def ready() -> bool:  # netprobe prints "ready" once every port is bound
            first = server.log.read_text(errors="replace").partition("\n")[0]
            if first != "ready":
                raise NotReady(f"its first line is {first!r}")
            return True

        problem = ""
        try:
            wait_ready([server], ready, SERVER_START_SECONDS, interval=0.02)
        except TargetError as exc:
            problem = str(exc)
        namespace, name = key.split("/", 1)
        path = f"/api/v1/namespaces/{namespace}/pods/{name}"
        ok = not problem
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        conditions = [
            {"type": kind, "status": "True" if ok else "False", "lastTransitionTime": now}
            for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ]
        status = {
            "phase": "Running" if ok else "Failed",
            "message": problem,
            "podIP": interface.address,
            "podIPs": [{"ip": interface.address}],
            "hostIP": self.node_ip,
            "hostIPs": [{"ip": self.node_ip}],
            "startTime": now,
            "conditions": conditions,
        }
        self._patch(f"{path}/status", {"status": status})

    def _teardown(self, key: str) -> None:
        state = self.pods.pop(key, None)
        if state is not None:
            state.server.kill()
        self.network.remove_pod(key)
