"""Load scenarios run the way a user runs them: ``locust -f scenarios ...`` in a subprocess.

locust monkeypatches the standard library with gevent at import, so it never runs inside the
pytest process. The reference app is served by a ``ReferenceStack`` on the session's
PostgreSQL (the noisy-neighbour runs with small plan limits, ``TIGHT_LIMITS``, so a short
flood meets them), with a target profile pointing at it; runs last seconds and check the
machinery, not performance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from reference_app.database import DatabaseUrls
from tenantprobe.stack import ReferenceStack, RoleDsns
from tests.conftest import new_database

ROOT = Path(__file__).parents[2]
SCENARIOS = ROOT / "scenarios"
# For the noisy-neighbour runs: quiet tenants (1.5 requests/s each, 3 notes) never meet these, a
# flooder (unpaced, mostly creating) meets both within a second whatever the machine's speed.
TIGHT_LIMITS = {"REFERENCE_APP_PLAN_PRO": "rate=5,burst=10,notes=12"}


@dataclass(frozen=True)
class LoadRun:
    exit_code: int
    output: str
    results: Path
    name: str

    @property
    def document(self) -> dict[str, Any]:
        path = self.results / f"load-{self.name}.json"
        assert path.is_file(), f"no {path.name} was written:\n{self.output}"
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    @property
    def records(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for path in sorted(self.results.glob(f"load-{self.name}-*.jsonl"))
            for line in path.read_text().splitlines()
        ]

    def record(self, control_id: str) -> dict[str, Any]:
        found = [r for r in self.records if r["control_id"] == control_id]
        assert len(found) == 1, f"{len(found)} records for {control_id}:\n{self.output}"
        return found[0]

    def locust_stats(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads((self.results / "locust.json").read_text())
        return data


def locust_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(SCENARIOS), *args]


def run_locust(
    results: Path, name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> LoadRun:
    """One headless run; ``name`` is the scenario (the result file's name)."""
    completed = subprocess.run(
        locust_command(
            *args,
            "--headless",
            "--only-summary",
            "--results-dir",
            str(results),
            "--json-file",
            str(results / "locust"),
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return LoadRun(completed.returncode, completed.stdout[-4000:] + completed.stderr[-8000:], results, name)


def start_popen(results: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    results.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        locust_command(
            *args, "--headless", "--only-summary", "--results-dir", str(results), "--json-file", str(results / "locust")
        ),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )


def profile_for(stack: ReferenceStack, directory: Path) -> Path:
    """targets/reference.yaml pointed at an already running stack."""
    raw = yaml.safe_load((ROOT / "targets" / "reference.yaml").read_text())
    raw.pop("launch", None)
    raw["base_url"] = stack.base_url
    raw["auth"]["key_file"] = str(stack.key_file)
    path = directory / "profile.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def serve(
    db: DatabaseUrls, log_dir: Path, faults: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> ReferenceStack:
    return ReferenceStack(
        dsns=RoleDsns(owner=db.owner, app=db.app, platform=db.platform),
        faults=faults,
        extra_env=env or {},
        log_dir=log_dir,
    ).start()


@dataclass(frozen=True)
class LoadTarget:
    profile: Path
    pids: str  # for --app-pids: the stack's processes, so resource sampling is exercised too

    @property
    def options(self) -> tuple[str, ...]:
        return ("--target", str(self.profile), "--app-pids", self.pids)


def pids_option(stack: ReferenceStack) -> str:
    return ",".join(f"{name}={pid}" for name, pids in stack.pids().items() for pid in pids)


@pytest.fixture(scope="module")
def load_target(
    admin_dsn: str, role_passwords: dict[str, str], migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoadTarget]:
    """The secure reference app (default, generous plan limits), shared by the module's runs."""
    directory = tmp_path_factory.mktemp("load-target")
    stack = serve(new_database(admin_dsn, role_passwords, template=migrated_template), directory / "logs")
    try:
        yield LoadTarget(profile_for(stack, directory), pids_option(stack))
    finally:
        stack.stop()
