"""Reports from real runs of the isolation suite, read as an auditor and a browser would read them.

The isolation suite alone leaves most infrastructure, network, load and operations controls
without evidence, so a secure run is INCOMPLETE (exit 3) with every assessed control passing;
a run against the reference app with a seeded fault is FAIL (exit 1) and names the control.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reports._inputs import load_result_schema
from tests.reports.browser import browser
from tests.reports.conftest import ARTIFACTS, FAULT, FAULT_CONTROL
from tests.reports.htmlcheck import validate
from tests.reports.test_inputs import _load

TENANTPROBE = [sys.executable, "-c", "from tenantprobe.cli import main; main()"]
SCHEMA = json.loads((Path(__file__).parents[2] / "reports" / "report.schema.json").read_text())
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJ4In0.c2lnbmF0dXJl"


def _report(results: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TENANTPROBE, "report", "--results", str(results), "--out", str(out), "--sarif", *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _records(results: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(results.glob("*.jsonl")) for line in path.read_text().splitlines()]


def _with_careless_leak(isolation_run: Path, target: Path) -> Path:
    """The real run, with one cross-tenant read leaking as a seeded fault makes it leak.

    The evidence carries a raw token, as a careless suite might write it: the report must redact it.
    """
    target.mkdir()
    records = _records(isolation_run)
    leak = next(r for r in records if r["control_id"] == "API-CROSS-TENANT-READ" and r["pair"])
    attacker, victim = leak["pair"]["attacker"], leak["pair"]["victim"]
    leak.update(
        status="fail",
        summary=f"{attacker} read {victim}'s note by id: GET /v1/notes/{{id}} answered 200 with {victim}'s canary",
        measured={"attempts": leak["measured"]["attempts"], "blocked": leak["measured"]["attempts"] - 1},
        evidence=[
            {
                "actor": f"member@{attacker}",
                "request": {
                    "method": "GET",
                    "url": "http://127.0.0.1:1/v1/notes/42",
                    "headers": {"Authorization": f"Bearer {JWT}"},
                    "body": None,
                },
                "response": {
                    "status": 200,
                    "headers": {"content-type": "application/json"},
                    "body": json.dumps({"id": 42, "title": f"canary-{victim}", "token": JWT}),
                    "elapsed_ms": 3.1,
                },
                "curl": f"curl -sS -H 'Authorization: Bearer {JWT}' http://127.0.0.1:1/v1/notes/42",
            }
        ],
    )
    (target / "isolation-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return target


def test_secure_run_reports_every_assessed_isolation_control_passing(isolation_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = _report(isolation_run, out)
    assert done.returncode == 3, done.stdout + done.stderr  # INCOMPLETE: one suite cannot cover the catalogue
    assert "verdict: INCOMPLETE" in done.stdout
    assert "Traceback" not in done.stderr
    data = json.loads((out / "report.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assessed = [c for c in data["controls"] if c["records"]]
    assert assessed
    assert {c["status"] for c in assessed} == {"pass"}
    assert {"API-CROSS-TENANT-READ", "DATA-RLS-PROBE", "API-CANARY-ORACLE"} <= {c["id"] for c in assessed}
    assert data["verdict"]["failed_critical_isolation"] == []
    metrics = {m["key"]: m for m in data["metrics"]}
    assert metrics["tenant_isolation_score"]["value"] == 100.0
    assert metrics["security_audit_score"]["status"] == "incomplete"
    assert metrics["provisioning_time"]["status"] == "met"
    assert metrics["response_time"]["status"] == "not_assessed"
    assert len(data["matrix"]["tenants"]) == 3
    assert [e["path"] for e in data["evidence_files"]] == [p.name for p in sorted(isolation_run.glob("*.jsonl"))]
    html = (out / "report.html").read_text()
    assert validate(html) == []
    assert 'Verdict: <span class="verdict-word">INCOMPLETE</span>' in html
    assert "No load result" in html  # performance shows not assessed, with what would measure it


def test_seeded_fault_run_fails_naming_the_control(fault_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = _report(fault_run, out)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "verdict: FAIL" in done.stdout
    assert f"Critical isolation control {FAULT_CONTROL} failed" in done.stdout
    data = json.loads((out / "report.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert FAULT_CONTROL in data["verdict"]["failed_critical_isolation"]
    assert data["provenance"]["targets"][0]["faults"] == [FAULT]
    metrics = {m["key"]: m for m in data["metrics"]}
    assert metrics["tenant_isolation_score"]["status"] == "not_met"
    assert sum(c["attempts"] - c["blocked"] for c in data["matrix"]["cells"]) > 0
    html = (out / "report.html").read_text()
    assert validate(html) == []
    assert f'id="control-{FAULT_CONTROL}" open' in html
    assert f"seeded faults: {FAULT}" in html
    junit = (out / "junit.xml").read_text()
    assert f'name="{FAULT_CONTROL}: ' in junit
    sarif = json.loads((out / "report.sarif").read_text())
    assert FAULT_CONTROL in [r["ruleId"] for r in sarif["runs"][0]["results"]]
    assert _report(fault_run, tmp_path / "again", "--no-fail").returncode == 0


def test_careless_suite_evidence_is_redacted_again(isolation_run: Path, tmp_path: Path) -> None:
    results = _with_careless_leak(isolation_run, tmp_path / "results")
    out = tmp_path / "report"
    done = _report(results, out)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Critical isolation control API-CROSS-TENANT-READ failed" in done.stdout
    data = json.loads((out / "report.json").read_text())
    assert sum(c["attempts"] - c["blocked"] for c in data["matrix"]["cells"]) == 1
    html = (out / "report.html").read_text()
    assert "[REDACTED JWT]" in html
    for name in ("report.html", "report.json", "junit.xml", "report.sarif"):
        assert "eyJ" not in (out / name).read_text(), f"a token reached {name}"
    assert 'failures="1"' in (out / "junit.xml").read_text()


def test_browser_shows_the_report_offline_without_errors(fault_run: Path, tmp_path: Path, chromium: str) -> None:
    results = tmp_path / "results"
    shutil.copytree(fault_run, results, ignore=shutil.ignore_patterns("logs"))
    # The load run belongs to the same run as the suite's records, as TENANTPROBE_RUN_ID makes it.
    (results / "load-steady.json").write_text(json.dumps(_load(run_id=_records(results)[0]["run_id"])))
    jsonschema.Draft202012Validator(load_result_schema()).validate(_load())
    out = tmp_path / "report"
    assert _report(results, out).returncode == 1
    page = out / "report.html"
    with browser(chromium) as chrome:
        visit = chrome.visit(page.as_uri())
        assert visit.errors == []
        assert [url for url in visit.requests if url != page.as_uri()] == []
        assert visit.title.startswith("FAIL")
        svgs = chrome.evaluate("document.querySelectorAll('svg.chart').length")
        assert svgs >= 5  # heatmap, latency per tenant, throughput, CPU/memory, two scalability charts
        verdict = chrome.evaluate("document.querySelector('#verdict .verdict-word').textContent")
        assert verdict == "FAIL"
        failed_open = chrome.evaluate(f"document.querySelector('#control-{FAULT_CONTROL}').open")
        assert failed_open is True
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        chrome.screenshot(ARTIFACTS / "report-fault.png")
        assert (ARTIFACTS / "report-fault.png").stat().st_size > 10_000
        pdf = chrome.print_pdf()
        assert pdf.startswith(b"%PDF")
        closed = chrome.evaluate("[...document.querySelectorAll('details')].filter(d => !d.open).length")
        assert closed == 0, "printing opens every <details>, so the evidence is on paper"
        shutil.copy(page, ARTIFACTS / "report-fault.html")


@pytest.mark.parametrize("case", ["empty", "truncated"])
def test_broken_results_give_a_report_and_no_traceback(tmp_path: Path, case: str) -> None:
    results = tmp_path / "results"
    results.mkdir()
    if case == "truncated":
        (results / "tenantprobe-1.jsonl").write_text('{"control_id": "API-LIST-FILTER", "check_id": "x", "sta')
    done = _report(results, tmp_path / "report")
    assert done.returncode == 3
    assert "Traceback" not in done.stdout + done.stderr
    assert "problem:" in done.stdout
    assert validate((tmp_path / "report" / "report.html").read_text()) == []
