"""The container path end to end on our own app: the isolation suite against the reference app
launched from its image (``targets/reference-container.yaml``) with PostgreSQL in a container, with
and without a seeded fault, and the reference app's ``--db container`` database.

The three runs are ``pytest suites/...`` subprocesses, as a user runs them, started together.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import pytest
import yaml

from tenantprobe.containers import build_image
from tenantprobe.engine import Engine
from tenantprobe.profiles import load_profile
from tests.detection.conftest import ROOT, SuiteRun, run_suite

# Three suite runs side by side on two cores: minutes, past the default 300 s per test.
pytestmark = pytest.mark.timeout(1200)

PROFILE = ROOT / "targets" / "reference-container.yaml"
GATES = {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE", "API-LIST-FILTER", "API-TENANT-CONTEXT-TAMPER"}
FAULT, CAUGHT_BY = "dal_unscoped_get", "API-CROSS-TENANT-READ"
MISSING_IMAGE = "tenantprobe/no-such-postgres:1"


def with_fault(profile: Path, fault: str, out: Path) -> Path:
    """A copy of ``profile`` whose containers run with the app's own fault switch (``REFERENCE_APP_FAULTS``)."""
    raw = yaml.safe_load(profile.read_text())
    launch = raw["launch"]
    launch["build"]["containerfile"] = str((profile.parent / launch["build"]["containerfile"]).resolve())
    launch["build"]["context"] = str((profile.parent / launch["build"]["context"]).resolve())
    for spec in [launch, *launch["services"]]:
        spec["env"] = {**spec["env"], "REFERENCE_APP_FAULTS": fault}
    out.write_text(yaml.safe_dump(raw))
    return out


@pytest.fixture(scope="module")
def runs(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    base = tmp_path_factory.mktemp("reference-image")
    client = docker.DockerClient(base_url=engine.host)
    try:
        # Built once here rather than by two runs at the same time.
        build_image(client, load_profile(PROFILE).launch, PROFILE)  # type: ignore[arg-type]
    finally:
        client.close()
    faulty = with_fault(PROFILE, FAULT, base / "faulty.yaml")
    jobs = {
        # The gates only: the whole suite's pass on the reference app is the detection matrix's secure run;
        # here the point is that the launched image and its database carry them.
        "secure": ("suites/isolation", "--target", str(PROFILE), "--tenants", "2", "--controls", ",".join(GATES)),
        "faulty": ("suites/isolation", "--target", str(faulty), "--tenants", "2", "--controls", CAUGHT_BY),
        "db-container": ("suites/isolation/test_data_layer.py", "--db", "container", "--tenants", "2"),
        "db-missing-image": ("suites/isolation/test_data_layer.py", "--db", f"container:{MISSING_IMAGE}"),
    }
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {
            name: pool.submit(run_suite, suite, base / name, *options, timeout=900)
            for name, (suite, *options) in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


def test_isolation_suite_passes_on_the_reference_app_image(runs: dict[str, SuiteRun]) -> None:
    run = runs["secure"]
    assert run.exit_code == 0, run.output[-3000:]
    assert run.controls_with("pass") >= GATES, run.output[-3000:]
    assert not run.controls_with("fail")


def test_isolation_suite_fails_on_the_reference_app_image_with_a_seeded_fault(runs: dict[str, SuiteRun]) -> None:
    run = runs["faulty"]
    assert run.exit_code != 0
    assert CAUGHT_BY in run.controls_with("fail"), run.output[-3000:]


def test_reference_app_runs_on_a_containerised_postgres(runs: dict[str, SuiteRun]) -> None:
    run = runs["db-container"]
    assert run.exit_code == 0, run.output[-3000:]
    assert "DATA-RLS-PROBE" in run.controls_with("pass")
    # The same run with an image the engine lacks fails on it: --db container really goes to the engine.
    missing = runs["db-missing-image"]
    assert missing.exit_code != 0
    assert f"image '{MISSING_IMAGE}' is not in the container engine" in missing.output


def test_no_container_is_left_after_the_runs(runs: dict[str, SuiteRun], client: docker.DockerClient) -> None:
    assert runs  # the client fixture checks, after the runs, that no container or network is left
