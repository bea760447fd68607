"""A Docker-API container engine for the run: the user's, or a private ``dockerd`` started for it.

The user's engine wins: ``DOCKER_HOST`` (Docker, rootless Docker, Podman's socket) or the default
socket. Without one, a private ``dockerd`` is started as root with its own data root (kept between
runs, so built images are cached) and its own socket, and stopped at the end, or when the harness dies
(``PR_SET_PDEATHSIG``: start it from a thread that lives as long as the engine). It never touches the
host's network: no iptables rules, no bridge, no NAT; containers use the host's network namespace.
Installing Debian's ``docker.io`` is allowed only where the caller says so (the project's own test
set-up), never behind a user's back.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import IO

import docker
import docker.errors

from tenantprobe.child import Child, NotReady, wait_ready
from tenantprobe.errors import ProvisioningError
from tenantprobe.lifecycle import Service

DEFAULT_SOCKET = "/var/run/docker.sock"
DATA_ROOT_ENV = "TENANTPROBE_DOCKER_ROOT"
PACKAGE = "docker.io"


def default_data_root() -> Path:
    """Where the private engine keeps images between runs (``TENANTPROBE_DOCKER_ROOT`` overrides)."""
    if override := os.environ.get(DATA_ROOT_ENV):
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "tenantprobe" / "docker"


def _socket_accepts(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def reachable(host: str) -> bool:
    """Whether a Docker API answers at ``host`` (a ``unix://`` or ``tcp://`` URL)."""
    # A client asks the server's API version as it is made: where nothing listens it fails half-built,
    # and its connection pool is never closed. A plain socket says first whether anyone is there.
    if host.startswith("unix://") and not _socket_accepts(host.removeprefix("unix://")):
        return False
    try:
        client = docker.DockerClient(base_url=host, timeout=5)
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except (docker.errors.DockerException, OSError):
        return False
    finally:
        client.close()


def _install_engine() -> None:
    if os.geteuid() != 0:
        raise ProvisioningError(
            f"no container engine: no Docker API at DOCKER_HOST or {DEFAULT_SOCKET}, and dockerd is not installed. "
            f"Start Docker or Podman's socket and set DOCKER_HOST, or install the '{PACKAGE}' package as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE]
    if subprocess.run(command, capture_output=True, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, check=False)
        result = subprocess.run(command, capture_output=True, env=env, check=False)
        if result.returncode != 0:
            raise ProvisioningError(
                f"installing '{PACKAGE}' with apt-get failed:\n{result.stderr.decode(errors='replace')[-2000:]}"
            )


def _unmount_under(directory: Path) -> None:
    """Unmount what dockerd left mounted in its exec root (its network namespace file, ``netns/default``),
    which would otherwise keep the directory from being removed and stay in the mount table."""
    prefix = f"{directory}/"
    with open("/proc/self/mounts") as table:
        points = [line.split()[1] for line in table if line.split()[1].startswith(prefix)]
    for point in sorted(points, reverse=True):  # the deepest first
        subprocess.run(["umount", point], capture_output=True, check=False)


class Engine(Service["Engine"]):
    """The Docker API of a run; ``host`` is its URL once started.

    Example::

        with Engine(install=True) as engine:
            print(engine.host)  # DOCKER_HOST is set for testcontainers too
    """

    def __init__(self, install: bool = False, data_root: Path | None = None) -> None:
        self.install = install
        self.data_root = data_root or default_data_root()
        self.host = ""
        self._child: Child | None = None
        self._run_dir: Path | None = None
        self._previous_host: str | None = None
        self._lock: IO[str] | None = None
        self._scratch_root = False

    @property
    def private(self) -> bool:
        """Whether this run started its own dockerd (and so must stop it)."""
        return self._child is not None

    def start(self, timeout: float = 60.0) -> Engine:
        self._previous_host = os.environ.get("DOCKER_HOST")
        for candidate in (self._previous_host, f"unix://{DEFAULT_SOCKET}"):
            if candidate and reachable(candidate):
                self.host = candidate
                os.environ["DOCKER_HOST"] = candidate
                return self
        if self._previous_host:
            raise ProvisioningError(
                f"DOCKER_HOST={self._previous_host}: no Docker API answers there; start the engine (Docker, "
                "Podman's socket) or unset DOCKER_HOST to let tenantprobe start a private dockerd"
            )
        self._start_private(timeout)
        return self

    def _start_private(self, timeout: float) -> None:
        if shutil.which("dockerd") is None:
            if not self.install:
                raise ProvisioningError(
                    f"no container engine: no Docker API at DOCKER_HOST or {DEFAULT_SOCKET}, and no dockerd to start. "
                    "Set DOCKER_HOST to your engine's socket (Docker, rootless Docker, Podman), or install the "
                    f"'{PACKAGE}' package"
                )
            _install_engine()
        if os.geteuid() != 0:
            raise ProvisioningError(
                "no container engine: no Docker API at DOCKER_HOST or the default socket, and a private dockerd "
                "needs root. Set DOCKER_HOST to your engine's socket (rootless Docker, Podman)"
            )
        self._claim_data_root()
        self._run_dir = Path(tempfile.mkdtemp(prefix="tenantprobe-engine-"))
        self.host = f"unix://{self._run_dir / 'docker.sock'}"
        # No iptables, no bridge: the engine changes nothing in the host's network; containers
        # run with --network host. --exec-root and --pidfile keep it apart from any system dockerd.
        self._child = Child(
            "the private dockerd",
            [
                "dockerd",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--data-root",
                str(self.data_root),
                "--exec-root",
                str(self._run_dir / "exec"),
                "--pidfile",
                str(self._run_dir / "dockerd.pid"),
                "-H",
                self.host,
            ],
            self._run_dir / "dockerd.log",
            # A harness killed with SIGKILL takes its dockerd along, and SIGTERM lets it stop containerd too.
            death_signal=signal.SIGTERM,
            grace=30,
            error=ProvisioningError,
        ).start()
        try:
            wait_ready([self._child], self._answers, timeout, interval=0.2)
        except ProvisioningError:
            self.stop()
            raise
        os.environ["DOCKER_HOST"] = self.host

    def _answers(self) -> bool:
        if not reachable(self.host):
            raise NotReady(f"no Docker API at {self.host} yet")
        return True

    def _claim_data_root(self) -> None:
        """One dockerd per data root: a run that finds it in use by another gets a scratch one (images are
        built again there, and it is removed at the end) instead of a dockerd that cannot start."""
        self.data_root.mkdir(parents=True, exist_ok=True)
        lock = (self.data_root.parent / f"{self.data_root.name}.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            self.data_root = Path(tempfile.mkdtemp(prefix="tenantprobe-docker-"))
            self._scratch_root = True
        else:
            self._lock = lock

    def stop(self) -> None:
        """Stop a private dockerd (the user's engine is left alone) and restore DOCKER_HOST."""
        if self._child is not None:
            self._child.stop()
            self._child = None
            if self._previous_host is None:
                os.environ.pop("DOCKER_HOST", None)
            else:
                os.environ["DOCKER_HOST"] = self._previous_host
        if self._run_dir is not None:
            _unmount_under(self._run_dir)
            shutil.rmtree(self._run_dir, ignore_errors=True)
            self._run_dir = None
        if self._lock is not None:
            self._lock.close()  # releases the data root for the next run
            self._lock = None
        if self._scratch_root:
            shutil.rmtree(self.data_root, ignore_errors=True)
            self._scratch_root = False
