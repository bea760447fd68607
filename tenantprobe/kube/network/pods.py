"""The network suite's probe pod: the restricted pod running ``netprobe.py`` from a config map in any Python image."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tenantprobe.kube.client.objects import config_map, restricted_pod
from tenantprobe.kube.network import netprobe

NETPROBE_DIR = "/tenantprobe"
NETPROBE_CONFIG_MAP = "tenantprobe-netprobe"
PROBE_IMAGE = "docker.io/library/python:3.13-alpine"  # any image with Python >= 3.10 as python3 on its PATH


def netprobe_command(*args: str) -> list[str]:
    """The probe program's command line inside a probe pod (its source is mounted from a config map)."""
    return ["python3", f"{NETPROBE_DIR}/netprobe.py", *args]


def netprobe_config_map(namespace: str) -> dict[str, Any]:
    """The config map that carries ``netprobe.py`` into the probe pods of ``namespace``."""
    manifest = config_map(NETPROBE_CONFIG_MAP, namespace)
    manifest["metadata"]["labels"] = {"app.kubernetes.io/created-by": "tenantprobe"}
    manifest["data"] = {"netprobe.py": Path(netprobe.__file__).read_text()}
    return manifest


def probe_pod(
    name: str,
    namespace: str,
    labels: dict[str, str],
    ports: Sequence[tuple[int, str]],
    node_name: str | None,
    image: str = PROBE_IMAGE,
) -> dict[str, Any]:
    """A restricted pod that serves the probe ports (``(port, protocol)``) with ``netprobe.py serve``.

    It is bound to ``node_name`` when given (no scheduler runs beside a local control plane), and
    is Ready once the first TCP port accepts connections."""
    pod = restricted_pod(name, namespace)
    pod["metadata"]["labels"].update(labels)
    container = pod["spec"]["containers"][0]
    container["image"] = image
    container["command"] = netprobe_command("serve", *(f"--{protocol.lower()}={port}" for port, protocol in ports))
    container["ports"] = [
        {"name": f"p{port}-{protocol.lower()}", "containerPort": port, "protocol": protocol} for port, protocol in ports
    ]
    container["volumeMounts"] = [{"name": "netprobe", "mountPath": NETPROBE_DIR, "readOnly": True}]
    tcp = [port for port, protocol in ports if protocol == "TCP"]
    if tcp:
        container["readinessProbe"] = {"tcpSocket": {"port": tcp[0]}, "periodSeconds": 2}
    pod["spec"]["volumes"] = [{"name": "netprobe", "configMap": {"name": NETPROBE_CONFIG_MAP}}]
    pod["spec"]["terminationGracePeriodSeconds"] = 1  # python as PID 1 ignores SIGTERM: do not wait 30 s
    if node_name:
        pod["spec"]["nodeName"] = node_name
    return pod
