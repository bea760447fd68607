"""``launch:`` with an image: readiness, its failures with the container's log, and clean-up.

Targets here are the ``builtin:python`` image running a one-line program, so a failure is the
target's own doing and its log says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import docker
import pytest

from tenantprobe import engine as engine_module
from tenantprobe.containers import builtin_image
from tenantprobe.engine import Engine, reachable
from tenantprobe.errors import ProfileError, TargetError
from tenantprobe.launch import LABEL_OWNER, LABEL_RUN, leftovers, owner_label, remove_stale
from tenantprobe.profiles import LaunchSettings, TargetProfile, load_profile
from tenantprobe.stack import database_choice
from tenantprobe.target import Target
from tests.containers.conftest import interrupt_once_launched
from tests.detection.conftest import ROOT

NEVER_READY = "import time; print('booting, not listening yet', flush=True); time.sleep(600)"


def profile_launching(**launch: object) -> TargetProfile:
    base = load_profile(ROOT / "targets" / "reference-container.yaml")
    return replace(base, launch=LaunchSettings.parse({"image": "builtin:python", **launch}))


def test_a_target_that_never_gets_ready_fails_with_its_log(client: docker.DockerClient) -> None:
    profile = profile_launching(command=["python", "-c", NEVER_READY], ready="/healthz", timeout_seconds=8)
    with pytest.raises(TargetError) as raised:
        Target.open(profile)
    message = str(raised.value)
    assert "the target container" in message
    assert "was not ready within 8 s (http://127.0.0.1:" in message
    assert "booting, not listening yet" in message, "the container's log belongs in the message"


def test_a_target_that_exits_at_start_fails_at_once_with_its_log(client: docker.DockerClient) -> None:
    crash = "import sys; sys.exit('config error: APP_DATABASE_URL is not set')"
    profile = profile_launching(command=["python", "-c", crash], ready="/healthz", timeout_seconds=120)
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"exited before http://127\.0\.0\.1:[0-9]+/healthz answered") as raised:
        Target.open(profile)
    assert "config error: APP_DATABASE_URL is not set" in str(raised.value)
    assert time.monotonic() - started < 60, "an exited container must not be waited for until the timeout"


def test_an_interrupted_launch_removes_its_containers(client: docker.DockerClient) -> None:
    script = textwrap.dedent(
        """
        from tests.containers.test_launch import NEVER_READY, profile_launching
        from tenantprobe.target import Target
        Target.open(profile_launching(command=["python", "-c", NEVER_READY], ready="/", timeout_seconds=300))
        """
    )
    assert interrupt_once_launched(client, script, 1) != 0


def test_containers_of_a_crashed_run_are_removed_by_the_next(client: docker.DockerClient) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a harness process that no longer exists, as after SIGKILL
    image = builtin_image(client, "python")

    def create(run: str, owner: str) -> str:
        return str(
            client.containers.create(
                image, command=["python", "-c", "pass"], labels={LABEL_RUN: run, LABEL_OWNER: owner}
            ).name
        )

    crashed = create("crashed", str(gone.pid))  # a label of the pid alone, as older runs wrote
    reused = create("reused", f"{os.getpid()}:1")  # its owner's pid now belongs to another process
    mine = create("alive", owner_label())
    try:
        assert sorted(remove_stale(client)) == sorted([crashed, reused])
        assert leftovers(client) == [mine], "a live run's containers are not stale"
    finally:
        client.containers.get(mine).remove(force=True)


@pytest.mark.parametrize(
    ("value", "image"),
    [("", ""), ("embedded", ""), ("container", "builtin:postgres"), ("container:postgres:16", "postgres:16")],
)
def test_db_option_picks_the_embedded_server_or_an_image(value: str, image: str) -> None:
    assert database_choice(value) == image


def test_db_option_rejects_an_unknown_choice_with_the_valid_ones() -> None:
    with pytest.raises(ProfileError, match=r"--db 'docker': expected 'embedded' .* 'container:IMAGE'"):
        database_choice("docker")


def test_a_private_engine_whose_data_root_is_in_use_starts_on_a_scratch_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs at once on one machine: the second dockerd cannot share the first one's data root."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine_module, "DEFAULT_SOCKET", str(tmp_path / "no-engine.sock"))
    shared = tmp_path / "docker"
    with Engine(data_root=shared) as first:
        monkeypatch.delenv("DOCKER_HOST")  # another run's process does not see this one's engine
        with Engine(data_root=shared) as second:
            assert (first.private, second.private) == (True, True)
            assert (first.data_root, second.data_root != shared) == (shared, True)
            assert (reachable(first.host), reachable(second.host)) == (True, True)
            scratch = second.data_root
    assert not scratch.exists(), "the scratch data root is removed with its engine"


ENGINE_CHILD = """
import sys, time
from pathlib import Path
from tenantprobe import engine
engine.DEFAULT_SOCKET = sys.argv[1]
print(engine.Engine(data_root=Path(sys.argv[2])).start().host, flush=True)
time.sleep(600)
"""


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line names ``text`` (a private engine's run directory: dockerd and its containerd)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                found.append(int(entry.name))
        except OSError:
            continue  # gone meanwhile
    return found


def test_a_private_engine_goes_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    """SIGKILL gives the harness no chance to stop its dockerd: the kernel's parent-death signal does."""
    env = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    child = subprocess.Popen(
        [sys.executable, "-c", ENGINE_CHILD, str(tmp_path / "no-engine.sock"), str(tmp_path / "docker")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    host = child.stdout.readline().strip()
    run_dir = str(Path(host.removeprefix("unix://")).parent)
    try:
        started = processes_mentioning(run_dir)
        assert len(started) >= 2, f"expected dockerd and its containerd, found {started}"
        child.kill()
        child.wait()
        deadline = time.monotonic() + 60
        while processes_mentioning(run_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_mentioning(run_dir) == [], "dockerd or containerd outlived the killed harness"
    finally:
        child.kill()
        child.stdout.close()
        for pid in processes_mentioning(run_dir):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(run_dir, ignore_errors=True)
