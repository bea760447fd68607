"""Pod networking without a container engine: a bridge, and a network namespace with a veth per pod.

Every name starts with ``tpn<pid in hex>``, the process that made it, so a later run removes what
a crashed run left behind (:func:`sweep_stale`) without touching the live resources of another
run on the same machine. Addresses come from a private /16 (per run) on the bridge; the bridge's own
address is the node's IP. Only these namespaces and loopback carry traffic.

Needs root and iproute2 (``ip``). Linux interface names have at most 15 characters, hence the
short names: bridge ``tpn1a2b3cbr``, host end of a pod's veth ``tpn1a2b3cv42``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tenantprobe.errors import TargetError

ROOT = "tpn"
_OWNED = re.compile(rf"^{ROOT}([0-9a-f]+)")
BRIDGE_NF = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")


def ip(*args: str, check: bool = True) -> str:
    completed = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and completed.returncode != 0:
        raise TargetError(f"ip {' '.join(args)} failed ({completed.returncode}): {completed.stderr.strip()}")
    return completed.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> list[str]:
    """Remove namespaces and links that a ``tpn`` process no longer alive made; returns their names."""
    removed = []
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        owner = _OWNED.match(name)
        if owner and not _alive(int(owner.group(1), 16)):
            ip("netns", "delete", name, check=False)
            removed.append(name)
    for line in ip("-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        owner = _OWNED.match(name)
        if owner and not _alive(int(owner.group(1), 16)):
            ip("link", "delete", name, check=False)
            removed.append(name)
    return removed


@dataclass(frozen=True)
class PodInterface:
    netns: str
    host_veth: str
    address: str


class PodNetwork:
    """The bridge of one node agent and the pod namespaces attached to it."""

    def __init__(self, subnet: str | None = None, owner: int | None = None) -> None:
        owner = owner if owner is not None else os.getpid()
        # A /16 of 10.128.0.0/10 per owner, so two runs on one machine rarely share addresses.
        self.subnet = ipaddress.ip_network(subnet or f"10.{128 + owner % 64}.0.0/16")
        self.prefix = f"{ROOT}{owner:x}"
        self.bridge = f"{self.prefix}br"
        hosts = self.subnet.hosts()
        self.gateway = str(next(hosts))  # the bridge's address, which is the node's IP
        self._free = hosts
        self._next = 0
        self.pods: dict[str, PodInterface] = {}

    def create_bridge(self) -> None:
        if not BRIDGE_NF.exists():
            raise TargetError(
                f"{BRIDGE_NF} is missing: the kernel has no br_netfilter, so no iptables-based enforcer "
                "can see traffic between pods on a bridge"
            )
        # Bridged traffic must pass iptables, where the enforcer's rules are.
        if BRIDGE_NF.read_text().strip() != "1":
            BRIDGE_NF.write_text("1\n")
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add_pod(self, key: str) -> PodInterface:
        """A namespace with ``eth0`` on the bridge and the next free address."""
        self._next += 1
        netns = f"{self.prefix}-{self._next}"
        host_veth = f"{self.prefix}v{self._next}"
        address = str(next(self._free))
        ip("netns", "add", netns)
        try:
            ip("link", "add", host_veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
            ip("link", "set", host_veth, "master", self.bridge, "up")
            ip("-n", netns, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "eth0")
            ip("-n", netns, "link", "set", "eth0", "up")
            ip("-n", netns, "link", "set", "lo", "up")
            ip("-n", netns, "route", "add", "default", "via", self.gateway)
        except TargetError:
            ip("netns", "delete", netns, check=False)
            ip("link", "delete", host_veth, check=False)
            raise
        self.pods[key] = PodInterface(netns, host_veth, address)
        return self.pods[key]

    def remove_pod(self, key: str) -> None:
        interface = self.pods.pop(key, None)
        if interface is not None:
            ip("netns", "delete", interface.netns, check=False)  # takes eth0 and so its host end along
            ip("link", "delete", interface.host_veth, check=False)

    def teardown(self) -> None:
        for key in list(self.pods):
            self.remove_pod(key)
        with contextlib.suppress(TargetError):
            ip("link", "delete", self.bridge)
