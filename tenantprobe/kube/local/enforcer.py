"""kube-router in firewall-only mode: the real NetworkPolicy enforcer of the local probe node.

``build_kube_router.sh`` builds the pinned version from the Go module proxy (cached like the
control plane); ``install_netfilter_tools.sh`` installs ipset and iptables when they are missing.
kube-router writes the host's iptables and ipsets, which are machine-wide, so one runs per
machine at a time: :class:`KubeRouter` holds a lock file while it runs and removes its rules before it starts, which
also clears what a crashed run left, and after it stops. (kube-router v2.1.0's own
``--cleanup-config`` leaves the rules in place under iptables-nft and then panics in the service
proxy's cleanup, so :func:`remove_kube_router_rules` does it.)

Example::

    with KubeRouter(kubeconfig, node_name="tenantprobe-node") as enforcer:
        enforcer.healthy()          # True once its /healthz answers
        wait_synced(["tenant-a/probe-a"])
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from tenantprobe.child import Child, NotReady, free_port, wait_ready
from tenantprobe.errors import TargetError
from tenantprobe.lifecycle import Service

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build_kube_router.sh"
INSTALL_SCRIPT = HERE / "install_netfilter_tools.sh"
LOCK_FILE = Path("/run/lock/tenantprobe-kube-router.lock")
OWN_CHAINS = ("KUBE-ROUTER-", "KUBE-POD-FW-", "KUBE-NWPLCY-")
OWN_IPSETS = ("KUBE-", "inet6:KUBE-")
FIREWALL_ONLY = ("--run-firewall=true", "--run-router=false", "--run-service-proxy=false")


class EnforcerError(TargetError):
    """The enforcer could not be built, installed or started; the message says which step and why."""


def _run_script(script: Path, what: str) -> str:
    completed = subprocess.run(["bash", str(script)], stdout=subprocess.PIPE, text=True, check=False)
    if completed.returncode != 0:
        raise EnforcerError(f"{what}: {script} failed with exit code {completed.returncode} (its messages are above)")
    return completed.stdout.strip()


def ensure_kube_router() -> Path:
    """The kube-router binary, built on first use; ipset and iptables installed when missing."""
    _run_script(INSTALL_SCRIPT, "installing ipset and iptables")
    return Path(_run_script(BUILD_SCRIPT, "building kube-router").splitlines()[-1])


def kube_router_current() -> bool:
    """Whether the cached build is current and ipset and iptables are installed (nothing to do)."""
    tools = all(shutil.which(tool) for tool in ("ipset", "iptables", "iptables-save"))
    return tools and subprocess.run(["bash", str(BUILD_SCRIPT), "--check"], check=False).returncode == 0


def kube_router_version(binary: Path) -> str:
    completed = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    words = (completed.stdout + completed.stderr).split()
    return next((w.rstrip(",") for w in words if w.startswith("v2.") or w.startswith("v1.")), "unknown")


def remove_kube_router_rules() -> None:
    """Delete kube-router's filter chains, the jumps to them and its ipsets."""
    saved = subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True, check=False).stdout
    lines = saved.splitlines()
    chains = [line[1:].split()[0] for line in lines if line.startswith(":") and line[1:].startswith(OWN_CHAINS)]
    for line in lines:
        words = shlex.split(line)
        if words[:1] == ["-A"] and words[1] in ("INPUT", "FORWARD", "OUTPUT") and words[-1].startswith(OWN_CHAINS):
            subprocess.run(["iptables", "-t", "filter", "-D", *words[1:]], capture_output=True, check=False)
    for flag in ("-F", "-X"):  # flush all first: the chains jump to each other
        for chain in chains:
            subprocess.run(["iptables", "-t", "filter", flag, chain], capture_output=True, check=False)
    names = subprocess.run(["ipset", "list", "-n"], capture_output=True, text=True, check=False).stdout.split()
    for name in names:
        if name.startswith(OWN_IPSETS):
            subprocess.run(["ipset", "destroy", name], capture_output=True, check=False)


def _ruleset() -> str:
    completed = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False)
    # Packet counters change with every probe; only the rules matter.
    return "\n".join(line for line in completed.stdout.splitlines() if not line.startswith(("#", ":")))


def _ipsets() -> str:
    return subprocess.run(["ipset", "save"], capture_output=True, text=True, check=False).stdout


_POD_JUMP = re.compile(r"POD name:(\S+) namespace: (\S+) to chain (KUBE-POD-FW-\w+)")
_MATCH_SET = re.compile(r"--match-set (\S+)")


def pods_rules(rules: str, ipsets: str, wanted: set[tuple[str, str]]) -> tuple[bool, str]:
    """Whether every wanted (name, namespace) pod has its firewall chain, and what decides its traffic.

    That is the pods' jumps and chains, the policy chains those run through and the members of
    the ipsets they match, sorted: other pods' rules (other runs sharing the node) are left out."""
    lines = rules.splitlines()
    jumps = [(m, line) for line in lines if (m := _POD_JUMP.search(line)) and (m.group(1), m.group(2)) in wanted]
    pod_chains = {m.group(3) for m, _ in jumps}
    chains = set(pod_chains)
    for line in lines:
        parts = line.split()
        if parts[:1] == ["-A"] and len(parts) > 1 and parts[1] in pod_chains and "-j" in parts[:-1]:
            chains.add(parts[parts.index("-j") + 1])
    relevant = [line for _, line in jumps] + [line for line in lines if line.split()[1:2] and line.split()[1] in chains]
    sets = {name for line in relevant for name in _MATCH_SET.findall(line)}
    members = [line for line in ipsets.splitlines() if line.split()[1:2] and line.split()[1] in sets]
    named = {(m.group(1), m.group(2)) for m, _ in jumps} >= wanted
    return named, "\n".join(sorted(relevant) + sorted(members))


def healthy(url: str) -> bool:
    """Whether kube-router's health endpoint answers 200 (it does once its controllers run)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback http
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_synced(pods: Iterable[str], timeout: float = 60.0, settle: float = 1.0) -> bool:
    """Wait until the rules name every pod ("namespace/name") and theirs stop changing for ``settle`` seconds.

    kube-router comments each pod's firewall jump with the pod's name and namespace; those pods'
    rules and sets unchanged for a while mean the last policy or pod change has been applied.
    Only their rules count (see :func:`pods_rules`), so runs that share the node and keep
    changing theirs do not hold this one up. (Probes do not change the rules: the packet
    counters are left out.)"""
    wanted = {(p.split("/", 1)[1], p.split("/", 1)[0]) for p in pods}
    deadline = time.monotonic() + timeout
    last, stable_since = "", time.monotonic()
    while time.monotonic() < deadline:
        named, rules = pods_rules(_ruleset(), _ipsets(), wanted)
        digest = hashlib.sha256(rules.encode()).hexdigest()
        if digest != last:
            last, stable_since = digest, time.monotonic()
        if named and time.monotonic() - stable_since >= settle:
            return True
        time.sleep(0.2)
    return False


class KubeRouter(Service["KubeRouter"]):
    """One kube-router process for one node, with its log in ``workdir``."""

    def __init__(self, kubeconfig: Path, node_name: str, workdir: Path, *, lock_timeout: float = 600.0) -> None:
        self.kubeconfig, self.node_name, self.workdir = kubeconfig, node_name, workdir
        self.lock_timeout = lock_timeout
        self.binary: Path | None = None
        self.health_port = 0
        self.log_path = workdir / "kube-router.log"
        self._child: Child | None = None
        self._lock: IO[str] | None = None

    @property
    def version(self) -> str:
        return kube_router_version(self.binary) if self.binary else "unknown"

    def start(self, timeout: float = 60.0) -> KubeRouter:
        self.binary = ensure_kube_router()
        self._acquire_lock()
        try:
            self._cleanup()
            self.health_port = free_port()
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._child = Child(
                "kube-router",
                [
                    str(self.binary),
                    f"--kubeconfig={self.kubeconfig}",
                    f"--hostname-override={self.node_name}",
                    *FIREWALL_ONLY,
                    f"--health-port={self.health_port}",
                    "--metrics-port=0",
                    "--enable-ipv6=false",
                    "--iptables-sync-period=10s",
                    "--v=1",
                ],
                self.log_path,
                error=EnforcerError,
            ).start()
            wait_ready([self._child], self._healthy_now, timeout, what="kube-router (/healthz)", interval=0.2)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/healthz"

    def healthy(self) -> bool:
        return self._child is not None and self._child.running and healthy(self.health_url)

    def _healthy_now(self) -> bool:
        if not healthy(self.health_url):
            raise NotReady(f"{self.health_url} does not answer 200 yet")
        return True

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None
        if self._lock is not None:
            self._cleanup()
            self._lock.close()  # releases the lock
            self._lock = None

    def _acquire_lock(self) -> None:
        LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        lock = open(LOCK_FILE, "a")  # noqa: SIM115 - held until stop()
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    lock.close()
                    raise EnforcerError(
                        f"another run holds {LOCK_FILE} (one kube-router per machine: it owns the host's "
                        f"iptables); waited {self.lock_timeout:.0f} s"
                    ) from None
                time.sleep(1)
        self._lock = lock

    def _cleanup(self) -> None:
        remove_kube_router_rules()
