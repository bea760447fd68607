"""``launch.compose``: a compose file's services started for the run through testcontainers' ``DockerCompose``.

The isolation suite runs against the reference app and its PostgreSQL as a compose file
(``targets/reference-compose.yaml``), with and without a seeded fault; a service that never gets
ready fails with its log; nothing the runs started is left (the ``client`` fixture checks).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import docker
import pytest
import yaml

from tenantprobe.errors import ProfileError, TargetError
from tenantprobe.profiles import LaunchSettings, load_profile
from tenantprobe.target import Target
from tests.containers.conftest import interrupt_once_launched
from tests.containers.test_launch import NEVER_READY
from tests.detection.conftest import ROOT, SuiteRun, run_suite

# Two suite runs side by side on two cores, after the images are built: minutes.
pytestmark = pytest.mark.timeout(1200)

PROFILE = ROOT / "targets" / "reference-compose.yaml"
GATES = {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE", "API-TENANT-CONTEXT-TAMPER"}
FAULT, CAUGHT_BY = "dal_unscoped_get", "API-CROSS-TENANT-READ"


def with_fault(out: Path) -> Path:
    """A copy of the compose profile whose app runs with its own fault switch (``APP_FAULTS`` in the file)."""
    raw = yaml.safe_load(PROFILE.read_text())
    launch = raw["launch"]
    for key in ("containerfile", "context"):
        launch["build"][key] = str((PROFILE.parent / launch["build"][key]).resolve())
    launch["compose"]["file"] = str((PROFILE.parent / launch["compose"]["file"]).resolve())
    launch["compose"]["env"]["APP_FAULTS"] = FAULT
    out.write_text(yaml.safe_dump(raw))
    return out


@pytest.fixture(scope="module")
def runs(compose_ready: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    base = tmp_path_factory.mktemp("reference-compose")
    faulty = with_fault(base / "faulty.yaml")
    jobs = {
        "secure": (PROFILE, "--controls", ",".join(GATES)),
        "faulty": (faulty, "--controls", CAUGHT_BY),
    }
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {
            name: pool.submit(
                run_suite,
                "suites/isolation",
                base / name,
                "--target",
                str(profile),
                "--tenants",
                "2",
                *options,
                timeout=900,
            )
            for name, (profile, *options) in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


def test_isolation_suite_passes_on_the_reference_app_compose_file(runs: dict[str, SuiteRun]) -> None:
    run = runs["secure"]
    assert run.exit_code == 0, run.output[-3000:]
    assert run.controls_with("pass") >= GATES, run.output[-3000:]
    assert not run.controls_with("fail")


def test_isolation_suite_fails_on_the_compose_file_with_a_seeded_fault(runs: dict[str, SuiteRun]) -> None:
    run = runs["faulty"]
    assert run.exit_code != 0
    assert CAUGHT_BY in run.controls_with("fail"), run.output[-3000:]


def test_no_container_or_network_is_left_after_the_runs(runs: dict[str, SuiteRun], client: docker.DockerClient) -> None:
    assert runs  # the client fixture checks, after the runs, that no container or network is left


def compose_profile(tmp_path: Path, services: Mapping[str, object], service: str, **launch: object) -> Path:
    """A profile launching ``services`` (a compose file written beside it) and probing ``service``."""
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": dict(services)}))
    raw = yaml.safe_load(PROFILE.read_text())
    raw["launch"] = {"compose": {"file": "compose.yaml", "service": service, **launch}}
    raw.pop("database")
    (tmp_path / "profile.yaml").write_text(yaml.safe_dump(raw))
    return tmp_path / "profile.yaml"


def python_service(code: str) -> dict[str, object]:
    return {"image": "${PYTHON_IMAGE}", "network_mode": "host", "command": ["python", "-c", code]}


def test_a_compose_service_that_never_gets_ready_fails_with_its_log(
    compose_ready: None, client: docker.DockerClient, tmp_path: Path
) -> None:
    services = {"web": python_service(NEVER_READY), "sidecar": python_service("import time; time.sleep(600)")}
    profile = load_profile(compose_profile(tmp_path, services, "web", env={"PYTHON_IMAGE": "builtin:python"}))
    assert isinstance(profile.launch, LaunchSettings)
    profile = replace(profile, launch=replace(profile.launch, ready="/healthz", timeout_seconds=8))
    with pytest.raises(TargetError) as raised:
        Target.open(profile)
    message = str(raised.value)
    assert "the web service of compose.yaml was not ready within 8 s (http://127.0.0.1:" in message
    assert "booting, not listening yet" in message, "the service's log belongs in the message"


def test_a_compose_service_the_file_lacks_is_named_with_the_ones_it_has(
    compose_ready: None, client: docker.DockerClient, tmp_path: Path
) -> None:
    services = {"web": python_service("pass"), "worker": python_service("pass")}
    profile = load_profile(compose_profile(tmp_path, services, "api", env={"PYTHON_IMAGE": "builtin:python"}))
    with pytest.raises(ProfileError, match=r"launch\.compose\.service: 'api' is not a service of .*; its services: "):
        Target.open(profile)


def test_an_interrupted_compose_launch_takes_its_services_down(
    compose_ready: None, client: docker.DockerClient, tmp_path: Path
) -> None:
    services = {"web": python_service(NEVER_READY), "sidecar": python_service("import time; time.sleep(600)")}
    profile = compose_profile(tmp_path, services, "web", env={"PYTHON_IMAGE": "builtin:python"})
    script = textwrap.dedent(
        f"""
        from dataclasses import replace
        from pathlib import Path
        from tenantprobe.profiles import load_profile
        from tenantprobe.target import Target
        profile = load_profile(Path({str(profile)!r}))
        Target.open(replace(profile, launch=replace(profile.launch, ready="/", timeout_seconds=300)))
        """
    )
    assert interrupt_once_launched(client, script, len(services)) != 0
    # The client fixture checks that no container or network of the project is left.
