"""One container engine for the session: the user's (``DOCKER_HOST``), else a private dockerd.

The engine is installed when missing (Debian's ``docker.io``, as root), as the embedded PostgreSQL is
set up for the other tests: no test here skips for want of an engine. Images are built from this
machine's files and kept in the engine's data root between sessions (``tenantprobe.images``); Compose v2
is the docker CLI's, or a plugin built from the Go module proxy (``compose_ready``).
After each test, nothing the test launched may be left: no container, no network, no bridge.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tenantprobe.compose import compose_command
from tenantprobe.engine import Engine
from tenantprobe.launch import leftovers, remove_stale
from tests.detection.conftest import ROOT

DEFAULT_NETWORKS = {"host", "none", "bridge"}
# A test run started in the background of a shell inherits SIGINT ignored, and Python keeps it so; a
# user's terminal delivers Ctrl-C to a harness whose SIGINT is Python's default.
CTRL_C_AS_IN_A_TERMINAL = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    with Engine(install=True) as started:
        # Containers of an earlier session that was killed are not this session's leftovers.
        connected = docker.DockerClient(base_url=started.host)
        remove_stale(connected)
        connected.close()
        yield started
        run_dir = str(Path(started.host.removeprefix("unix://")).parent) if started.private else None
    if run_dir is not None:
        assert run_dir not in Path("/proc/self/mounts").read_text(), "the private engine left a mount behind"
        assert not Path(run_dir).exists(), "the private engine's run directory outlived it"


@pytest.fixture
def client(engine: Engine) -> Iterator[docker.DockerClient]:
    """A client of the session's engine; the test fails if it leaves a launched container or a network behind."""
    connected = docker.DockerClient(base_url=engine.host)
    try:
        yield connected
        assert leftovers(connected) == [], "launched containers outlived the test"
        networks = {network.name for network in connected.networks.list()}
        assert networks <= DEFAULT_NETWORKS, f"networks left behind: {sorted(networks - DEFAULT_NETWORKS)}"
        if engine.private:
            # The private engine runs without a bridge: the host's network is as it was.
            assert "docker0" not in {name for _, name in socket.if_nameindex()}
    finally:
        connected.close()


@pytest.fixture(scope="session")
def compose_ready(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Compose v2 for ``launch.compose``: the docker CLI's own, else the plugin that ``build_compose.sh``
    builds once into the cache (minutes on a cold Go cache), as the Kubernetes tests build their binaries."""
    compose_command(tmp_path_factory.mktemp("compose"), build=True)


def interrupt_once_launched(client: docker.DockerClient, script: str, containers: int) -> int:
    """Run the Python ``script`` until it has launched ``containers`` containers, press Ctrl-C; its exit code."""
    process = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_AS_IN_A_TERMINAL + script], cwd=ROOT, env=os.environ.copy()
    )
    try:
        deadline = time.monotonic() + 120
        while len(leftovers(client)) < containers and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(leftovers(client)) == containers, "the launch never started its containers"
        process.send_signal(signal.SIGINT)  # while the harness waits for readiness
        return process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
