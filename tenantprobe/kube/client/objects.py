"""Small manifests the Kubernetes checks create: a pod that the restricted Pod Security standard
accepts, and the plainest service, config map, secret and volume claim.

The pod matters most: a check that wants to prove one setting is refused changes exactly that
setting in an otherwise compliant pod, after the compliant pod itself was accepted. The network
suite's probe pod (:mod:`tenantprobe.kube.network.pods`) is that pod running ``netprobe.py``.
"""

from __future__ import annotations

import copy
from typing import Any

IMAGE = "registry.k8s.io/pause:3.10"  # never pulled: there may be no node at all


def restricted_pod(name: str, namespace: str, resources: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pod that satisfies the restricted Pod Security standard (and declares no resources unless given)."""
    container: dict[str, Any] = {
        "name": "main",
        "image": IMAGE,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if resources is not None:
        container["resources"] = copy.deepcopy(resources)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/created-by": "tenantprobe"}},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
        },
    }


def service(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def config_map(name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": {}}


def secret(name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "data": {}}


def volume_claim(name: str, namespace: str, storage: str = "1Gi") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}},
    }
