"""`tenantprobe report`: exit codes and the messages a user reads, pinned in __snapshots__/."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reports import ReportOptions, build_report
from reports._render import render_html
from tenantprobe.cli import app
from tests.reports.conftest import assert_snapshot, foreign_read, passing_everything, record, write_records


def _invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "out"), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    output = result.output.replace(str(tmp_path), "<tmp>")
    return result.exit_code, output


def test_help_is_answered_by_the_report_package(tmp_path: Path) -> None:
    code, output = _invoke(tmp_path, "--help")
    assert code == 0
    for option in ("--results", "--run", "--out", "--waivers", "--previous", "--docs", "--sarif", "--no-fail"):
        assert option in output


def test_core_cli_does_not_import_reports_until_the_command_runs() -> None:
    import subprocess
    import sys

    probe = "import sys, tenantprobe.cli; print(any(m == 'reports' or m.startswith('reports.') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_missing_results_directory(tmp_path: Path) -> None:
    code, output = _invoke(tmp_path, "--results", str(tmp_path / "results"))
    assert code == 4  # no report written (tenantprobe.exitcodes)
    assert_snapshot("missing_directory", output)


def test_empty_results_directory(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    code, output = _invoke(tmp_path, "--results", str(tmp_path / "results"))
    assert code == 3
    assert_snapshot("empty_directory", output)


def test_truncated_line_and_unknown_control(tmp_path: Path) -> None:
    path = write_records(tmp_path / "results", [record("API-LIST-FILTER"), record("DATA-RLS-PROBE")])
    with path.open("a") as out:
        out.write(json.dumps(record("API-COUNT-LEAK") | {"control_id": "API-COUNT-LEAKS"}) + "\n")
        out.write('{"control_id": "API-NESTED-PARENT", "check_id": "suites/iso')
    code, output = _invoke(tmp_path, "--results", str(tmp_path / "results"))
    assert code == 3
    assert_snapshot("truncated_and_unknown", output)


def test_critical_isolation_failure(tmp_path: Path) -> None:
    records = [
        *passing_everything(),
        record("API-TENANT-CONTEXT-TAMPER", "fail", summary="X-Tenant-ID of tp-a let tp-b list tp-a's notes"),
    ]
    write_records(tmp_path / "results", records)
    code, output = _invoke(tmp_path, "--results", str(tmp_path / "results"))
    assert code == 1
    assert_snapshot("critical_failure", output)
    code, _ = _invoke(tmp_path, "--results", str(tmp_path / "results"), "--no-fail")
    assert code == 0


def test_pass(tmp_path: Path) -> None:
    write_records(tmp_path / "results", passing_everything())
    code, output = _invoke(tmp_path, "--results", str(tmp_path / "results"))
    assert code == 0
    assert_snapshot("pass", output)


def test_waiver_problems(tmp_path: Path) -> None:
    write_records(tmp_path / "results", [*passing_everything(), record("API-EXISTENCE-ORACLE", "fail")])
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - {control: API-EXISTENCE-ORACLE, reason: fix in 2.3}\n"
        "  - {control: API-EXISTANCE-ORACLE, reason: typo, owner: alice, expires: 2999-01-01}\n"
        "  - {control: API-LIST-FILTER, reason: not needed, owner: bob, expires: 2999-01-01}\n"
    )
    code, output = _invoke(tmp_path, "--results", str(tmp_path / "results"), "--waivers", str(waivers))
    assert code == 1  # the malformed waiver is not applied, so the isolation failure stands
    assert_snapshot("waiver_problems", output)


def test_missing_waivers_file(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    code, output = _invoke(tmp_path, "--results", str(tmp_path / "results"), "--waivers", str(tmp_path / "w.yaml"))
    assert code == 4  # no report written (tenantprobe.exitcodes)
    assert "--waivers <tmp>/w.yaml: no such file" in output


@pytest.mark.parametrize("section", ["verdict", "metrics"])
def test_report_html_key_sections(tmp_path: Path, section: str) -> None:
    records = [r for r in passing_everything() if not r["control_id"].startswith(("NET-", "INFRA-"))]
    records.append(foreign_read("tp-b read tp-a's note 7", measured={"attempts": 4, "blocked": 3}))
    write_records(tmp_path, records)
    report = build_report(ReportOptions(results_dir=tmp_path, now=datetime(2026, 11, 26, 12, 0, tzinfo=UTC)))
    html = render_html(report)
    match = re.search(rf'<section id="{section}".*?</section>', html, re.DOTALL)
    assert match is not None
    assert_snapshot(f"html_{section}", match.group(0) + "\n")
