"""The command line, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantprobe.cli import app
from tests.conftest import TENANTPROBE


@pytest.mark.timeout(900)  # it runs the whole isolation suite at the end, as make demo does
def test_demo_starts_the_app_provisions_tenants_and_prints_how_to_call_it(
    demo_run: subprocess.CompletedProcess[str],
) -> None:
    result = demo_run
    assert result.returncode == 0, result.stderr
    assert "reference app ready at http://127.0.0.1:" in result.stdout
    assert result.stdout.count("tenant ") >= 2
    assert "curl -H" in result.stdout
    assert "isolation suite passed" in result.stdout
    report = result.stdout.rsplit("report: ", 1)[1].split()[0]
    assert Path(report).is_file()
    assert "eyJ" not in result.stdout + result.stderr, "no token may be printed"


def test_version_and_python_dash_m_are_the_same_command() -> None:
    from tenantprobe import __version__

    for command in ([sys.executable, "-m", "tenantprobe"], TENANTPROBE):
        result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=120, check=False)
        assert (result.returncode, result.stdout) == (0, f"tenantprobe {__version__}\n"), result.stderr


def test_migrate_without_owner_url_names_the_fix() -> None:
    result = CliRunner().invoke(app, ["db", "migrate"], env={"REFERENCE_APP_OWNER_DATABASE_URL": ""})
    assert result.exit_code != 0
    assert "--owner-url" in result.output


@pytest.mark.parametrize("revision", ["down", "base"])
def test_migrate_moves_the_schema(revision: str, admin_dsn: str, role_passwords: dict[str, str]) -> None:
    from tests.conftest import new_database

    urls = new_database(admin_dsn, role_passwords)
    subprocess.run([*TENANTPROBE, "db", "migrate", "head", "--owner-url", urls.owner], check=True, capture_output=True)
    result = subprocess.run(
        [*TENANTPROBE, "db", "migrate", revision, "--owner-url", urls.owner],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
