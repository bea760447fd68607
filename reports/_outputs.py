"""The machine-readable outputs: report.json (schema reports/report.schema.json), junit.xml and SARIF."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict
from typing import Any

from reports._build import Report
from reports._inputs import REPORT_SCHEMA_ID
from reports._model import ControlResult
from tenantprobe.redact import redact_text


def _findings(result: ControlResult) -> list[dict[str, Any]]:
    return [
        {
            "check_id": r.check_id,
            "status": r.status,
            "summary": redact_text(r.summary or r.reason or ""),
            "attacker": r.attacker,
            "victim": r.victim,
            "source": r.source,
        }
        for r in result.tally.findings
    ]


def _control(result: ControlResult) -> dict[str, Any]:
    control = result.control
    attempts, blocked = result.attempts
    return {
        "id": control.id,
        "title": control.title,
        "layer": control.layer,
        "severity": control.severity,
        "weight": control.weight,
        "isolation": control.isolation,
        "phase_metric": control.phase_metric,
        "status": result.status,
        "raw_status": result.raw_status,
        "reason": redact_text(result.reason),
        "records": result.tally.count,
        "counts": result.counts,
        "attempts": attempts,
        "blocked": blocked,
        "value": result.value,
        "waiver": asdict(result.waiver) if result.waiver else None,
        "findings": _findings(result),
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "schema": REPORT_SCHEMA_ID,
        "generated_at": report.generated_at,
        "catalogue_version": report.catalogue.version,
        "verdict": {
            "status": str(report.decision.verdict),
            "reasons": [redact_text(r) for r in report.decision.reasons],
            "failed_critical_isolation": report.decision.failed_critical,
        },
        "score": report.score.as_dict(),
        "metrics": [row.as_dict() for row in report.metrics],
        "controls": [_control(result) for result in report.results],
        "matrix": report.matrix.as_dict(),
        "findings_by_attack": [{**row, "first": redact_text(row["first"])} for row in report.findings_by_attack()],
        "problems": [asdict(p) for p in report.problems],
        "waivers": [asdict(w) for w in report.waivers],
        "not_applicable": [asdict(d) for d in report.declarations],
        "load": [{"file": lr.path, "scenario": lr.scenario, "metrics": lr.metrics} for lr in report.load_results],
        "evidence_files": [asdict(e) for e in report.evidence_files],
        "provenance": report.provenance,
        "trend": report.trend,
        "record_count": report.record_count,
    }


def junit_xml(report: Report) -> str:
    """One test case per control (and per input problem), for CI dashboards."""
    suite = ET.Element("testsuite", name="tenantprobe", timestamp=report.generated_at)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in report.results:
        control = result.control
        case = ET.SubElement(
            suite, "testcase", classname=f"tenantprobe.{control.layer}", name=f"{control.id}: {control.title}"
        )
        counts["tests"] += 1
        message = redact_text(result.reason)[:2000]
        if result.status == "fail":
            counts["failures"] += 1
            ET.SubElement(case, "failure", message=message, type=control.severity).text = "\n".join(
                f["summary"] for f in _findings(result)
            )
        elif result.status == "error":
            counts["errors"] += 1
            ET.SubElement(case, "error", message=message)
        elif result.status != "pass":
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=f"{result.status}: {message}")
    for problem in report.problems:
        if problem.blocking:
            case = ET.SubElement(suite, "testcase", classname="tenantprobe.inputs", name=problem.source)
            ET.SubElement(case, "error", message=redact_text(problem.message)[:2000])
            counts["tests"] += 1
            counts["errors"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


def sarif(report: Report) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per control, one result per failed or errored control."""
    rules = [
        {
            "id": r.control.id,
            "name": r.control.id.title().replace("-", ""),
            "shortDescription": {"text": r.control.title},
            "fullDescription": {"text": r.control.what},
            "help": {"text": f"{r.control.why} Remediation: {r.control.remediation}"},
            "properties": {"severity": r.control.severity, "layer": r.control.layer, "isolation": r.control.isolation},
        }
        for r in report.results
    ]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [
        {
            "ruleId": r.control.id,
            "ruleIndex": index[r.control.id],
            "level": SARIF_LEVEL[r.control.severity] if r.status == "fail" else "warning",
            "kind": "fail",
            "message": {"text": redact_text(f"{r.status}: {r.reason or r.control.title}")[:4000]},
            "properties": {"status": r.status, "findings": _findings(r)},
        }
        for r in report.results
        if r.status in ("fail", "error")
    ]
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tenantprobe",
                        "version": report.provenance["tenantprobe_version"],
                        "rules": rules,
                    }
                },
                "results": results,
                "properties": {"verdict": str(report.decision.verdict)},
            }
        ],
    }
