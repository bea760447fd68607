"""Assemble a :class:`Report` from a results directory and the user's options."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import tenantprobe
from reports._docs import documentation_record
from reports._inputs import read_previous, read_results, read_waivers
from reports._metrics import MetricRow, metric_rows
from reports._model import ControlResult, Declaration, EvidenceFile, LoadResult, Problem, Waiver
from reports._runs import RunChoice, choose_run
from reports._scoring import (
    Matrix,
    Score,
    VerdictDecision,
    control_results,
    isolation_matrix,
    records_from_load,
    score,
    trend,
    verdict,
)
from tenantprobe.controls import Catalogue, load_catalogue


@dataclass
class ReportOptions:
    """What ``tenantprobe report`` was asked to do; ``today`` and ``now`` are fixed in tests."""

    results_dir: Path
    run: str | None = None
    waivers: Path | None = None
    previous: Path | None = None
    docs: Path | None = None
    today: date | None = None
    now: datetime | None = None

    def parameters(self) -> dict[str, str | None]:
        return {
            "results": str(self.results_dir),
            "run": self.run,
            "waivers": str(self.waivers) if self.waivers else None,
            "previous": str(self.previous) if self.previous else None,
            "docs": str(self.docs) if self.docs else None,
        }


@dataclass
class Report:
    generated_at: str
    catalogue: Catalogue
    decision: VerdictDecision
    score: Score
    metrics: list[MetricRow]
    results: list[ControlResult]
    matrix: Matrix
    problems: list[Problem]
    waivers: list[Waiver]
    declarations: list[Declaration]
    load_results: list[LoadResult]
    evidence_files: list[EvidenceFile]
    provenance: dict[str, Any]
    trend: dict[str, Any] | None = None
    record_count: int = 0
    layers: list[str] = field(default_factory=list)
    run: RunChoice = field(default_factory=lambda: RunChoice(None))

    def findings_by_attack(self) -> list[dict[str, Any]]:
        """Failed records grouped by where the bug lives (the checks' attack classes), in the catalogue's order.

        A fix usually closes a class (scope every lookup by the body's ids, key every cache by tenant), so
        this is the list an engineer works through; records of checks that name no class come last."""
        order = [*self.catalogue.attack_classes, ""]
        rows: dict[str, dict[str, Any]] = {}
        for result in self.results:
            if result.status != "fail":
                continue  # a waived failure is not a finding to fix
            for attack, (count, first) in result.tally.fails_by_attack.items():
                title = self.catalogue.attack_classes.get(attack, "Checks with no attack class")
                row = rows.setdefault(attack, {"class": attack or None, "title": title, "findings": 0, "first": first})
                row["findings"] += count
                row.setdefault("controls", []).append(result.control.id)
        return [rows[a] for a in sorted(rows, key=lambda a: order.index(a) if a in order else len(order))]


def _git_sha() -> str:
    """The commit of the tenantprobe checkout that made the report, '+dirty' with local changes."""
    package_dir = Path(tenantprobe.__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(package_dir), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(package_dir), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return sha + ("+dirty" if dirty else "")


def _version() -> str:
    try:
        return metadata.version("tenantprobe")
    except metadata.PackageNotFoundError:
        return "unknown"


def _targets(results: list[ControlResult]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    shapes: set[int] = set()  # records read from one file share their target dict: each is looked at once
    for result in results:
        for target in result.tally.targets.values():
            if id(target) not in shapes:
                shapes.add(id(target))
                key = repr(sorted((str(k), repr(v)) for k, v in target.items()))
                seen.setdefault(key, target)
    # Normalised, so that a record from any suite, whatever keys its target has, renders the same way.
    # One run has one target per facet (reports/_runs.py refuses more); facets are the app and its cluster.
    return [
        {
            "name": str(t.get("name") or "unnamed"),
            "title": str(t.get("title") or t.get("name") or "unnamed"),
            "version": str(t["version"]) if t.get("version") else None,
            "base_url": str(t["base_url"]) if t.get("base_url") else None,
            "faults": [str(f) for f in t.get("faults") or []] if isinstance(t.get("faults"), list) else [],
            **{k: v for k, v in t.items() if k not in ("name", "title", "version", "base_url", "faults")},
        }
        for t in seen.values()
    ]


def _provenance(options: ReportOptions, report_results: list[ControlResult], run: RunChoice) -> dict[str, Any]:
    starts = [c.tally.started_at for c in report_results if c.tally.started_at]
    ends = [c.tally.finished_at for c in report_results if c.tally.finished_at]
    return {
        "run": run.as_dict(),
        "targets": _targets(report_results),
        "tenantprobe_version": _version(),
        "git_sha": _git_sha(),
        "started_at": min(starts) if starts else None,
        "finished_at": max(ends) if ends else None,
        "parameters": options.parameters(),
        "machine": {
            "hostname": platform.node(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count() or 0,
        },
    }


def build_report(options: ReportOptions) -> Report:
    """Read the inputs, score them against the catalogue, and return everything the outputs show."""
    catalogue = load_catalogue()
    now = options.now or datetime.now(UTC)
    today = options.today or now.date()
    inputs = read_results(options.results_dir, catalogue)
    run, scored, load_results, problems, evidence_files = choose_run(
        inputs.runs, inputs.load_results, inputs.problems, inputs.evidence_files, options.results_dir, options.run
    )
    for derived in records_from_load(load_results, catalogue):
        scored.add(derived, catalogue.get(derived.control_id))
    if options.docs is not None:
        if not options.docs.is_dir():
            problems.append(Problem(f"--docs {options.docs}", "no such directory; documentation not assessed"))
        else:
            threshold = catalogue.get("OPS-DOCUMENTATION-COVERAGE").measure.threshold or 100.0
            documentation = documentation_record(options.docs, threshold)
            scored.add(documentation, catalogue.get(documentation.control_id))
    waivers: list[Waiver] = []
    declarations: list[Declaration] = []
    if options.waivers is not None:
        waivers, declarations, waiver_problems, waiver_file = read_waivers(options.waivers, catalogue, today)
        problems += waiver_problems
        evidence_files.append(waiver_file)
    previous: dict[str, Any] | None = None
    if options.previous is not None:
        previous, previous_problems = read_previous(options.previous)
        problems += previous_problems
    results = control_results(catalogue, scored, waivers, declarations, problems)
    result_score = score(results)
    decision = verdict(results, result_score, problems)
    layers: list[str] = list(dict.fromkeys(c.layer for c in catalogue))
    return Report(
        generated_at=now.isoformat(timespec="seconds"),
        catalogue=catalogue,
        decision=decision,
        score=result_score,
        metrics=metric_rows(catalogue, results, result_score, load_results),
        results=results,
        matrix=isolation_matrix(scored),
        problems=problems,
        waivers=waivers,
        declarations=declarations,
        load_results=load_results,
        evidence_files=evidence_files,
        provenance=_provenance(options, results, run),
        trend=trend(results, previous) if previous is not None else None,
        record_count=scored.count,
        layers=layers,
        run=run,
    )
