"""``tenantprobe audit``: every suite that can run against a target here, as one run, then the report.

An auditor gives a target profile and gets a report. Each step is the command a user would
type (``pytest suites/isolation --target ...``, ``locust -f scenarios SteadyTenant ...``), run
as a child process with one ``TENANTPROBE_RUN_ID`` so that the report scores them together;
its output goes to ``<results>/logs/audit-<step>.log`` and one line per step says how it
went. A step that cannot run here (its extra is not installed, or ``--skip`` leaves it out)
writes ``not_assessed`` records for the controls it would have measured, with the reason,
so the report lists them as gaps instead of silently scoring less. Suites that can run but
lack a facet (no cluster for the network probes, no root) record their own reasons.

Example::

    tenantprobe audit --target targets/reference.yaml --results results/audit --out build/audit
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tenantprobe.controls import load_catalogue
from tenantprobe.errors import ProfileError
from tenantprobe.exitcodes import ExitCode
from tenantprobe.records import RUN_ID_ENV, ResultRecord, ResultWriter, Status, new_run_id

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class LoadSettings:
    """The short load run: small enough for a laptop, large enough to judge the catalogue's SLOs."""

    seconds: int = 30
    tenants: int = 100  # PERF-CONCURRENT-TENANTS is not assessed below 100
    tenant_rps: float = 1.0
    burst_seconds: int = 15
    noisy_seconds: int = 30  # half of it the quiet tenants' baseline


@dataclass
class Step:
    """One command of the audit and the catalogue sources (``measure.source``) it measures."""

    name: str
    sources: tuple[str, ...]
    commands: list[list[str]]
    extra: str = ""  # the pip extra its tools come from
    module: str = ""  # a module of that extra: missing means the step cannot run here
    unavailable: str = ""
    exit_codes: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def why_not(self, skipped: set[str]) -> str:
        if self.name in skipped:
            return f"left out of this audit with --skip {self.name}"
        if self.module and importlib.util.find_spec(self.module) is None:
            return f"the '{self.extra}' extra is not installed (pip install 'tenantprobe[{self.extra}]')"
        return self.unavailable


STEP_NAMES = ("isolation", "fuzz", "kubernetes", "network", "load")


def plan(target: Path, results: Path, faults: str, load: LoadSettings) -> list[Step]:
    """The steps in the order they run: cheap and critical first, the load last (it wants a quiet machine)."""
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    common = ["--tenantprobe-target", str(target), "--tenantprobe-results-dir", str(results)]
    if faults:
        common += ["--tenantprobe-faults", faults]
    locust = [sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios"), "--headless", "--only-summary"]
    load_common = ["--target", str(target), "--results-dir", str(results), *(["--faults", faults] if faults else [])]
    steady = [*locust, "SteadyTenant", "-t", f"{load.seconds}s", "--warmup", "2", "--tenants", str(load.tenants)]
    steady += ["--tenant-rps", f"{load.tenant_rps:g}", *load_common]
    burst = [*locust, "BurstTenant", "-t", f"{load.burst_seconds}s", "--warmup", "2", *load_common]
    noisy = [*locust, "QuietTenant", "Flooder", "-t", f"{load.noisy_seconds}s", "--tenants", "10"]
    noisy += ["--baseline", f"{load.noisy_seconds // 2}", "--tenant-rps", f"{load.tenant_rps:g}", *load_common]
    suites = ROOT / "suites"
    return [
        Step("isolation", ("suites/isolation",), [[*pytest, str(suites / "isolation"), *common]]),
        Step("fuzz", ("suites/fuzz",), [[*pytest, str(suites / "fuzz"), *common]], "fuzz", "schemathesis"),
        Step(
            "kubernetes",
            ("suites/quota", "suites/rbac"),
            [[*pytest, str(suites / "quota"), str(suites / "rbac"), *common]],
            "k8s",
            "kubernetes",
        ),
        Step("network", ("suites/network",), [[*pytest, str(suites / "network"), *common]], "k8s", "kubernetes"),
        Step("load", ("scenarios",), [steady, burst, noisy], "load", "locust"),
    ]


def parse_skip(text: str) -> set[str]:
    skipped = {name.strip() for name in text.split(",") if name.strip()}
    unknown = sorted(skipped - set(STEP_NAMES))
    if unknown:
        raise ProfileError(f"--skip {','.join(unknown)}: no such step; the steps are {', '.join(STEP_NAMES)}")
    return skipped


def record_gap(step: Step, reason: str, writer: ResultWriter) -> int:
    """``not_assessed`` records, with the reason, for every control the step would have measured."""
    controls = [c for c in load_catalogue() if c.measure.source in step.sources]
    for control in controls:
        writer.write(
            ResultRecord(
                control_id=control.id,
                check_id=f"tenantprobe::audit::{step.name}",
                status=Status.NOT_ASSESSED,
                severity=control.severity,
                reason=f"tenantprobe audit did not run {step.name}: {reason}",
            )
        )
    return len(controls)


# Catalogue sources no step runs: the report counts the documentation itself (--docs).
NOT_RUN = {
    "benchmarks": "measured by a benchmark of the reference app run by hand (benchmarks/README.md, e.g. "
    "benchmarks/migration_window.py --results-dir <results> with the same TENANTPROBE_RUN_ID)",
}


def record_unrun_sources(steps: list[Step], writer: ResultWriter) -> None:
    """Controls whose source no step covers are gaps too, with what would measure them."""
    covered = {source for step in steps for source in step.sources}
    for source, reason in NOT_RUN.items():
        if source not in covered:
            record_gap(Step(source, (source,), []), reason, writer)


def run_steps(steps: list[Step], skipped: set[str], results: Path, say: Callable[[str], None]) -> list[str]:
    """Run every step that can run; one line per step. Returns the summary lines."""
    writer = ResultWriter(results, "audit")
    env = {**os.environ, RUN_ID_ENV: os.environ.get(RUN_ID_ENV) or new_run_id()}
    env.setdefault("PYTHONUNBUFFERED", "1")
    logs = results / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    summary = []
    record_unrun_sources(steps, writer)
    for number, step in enumerate(steps, 1):
        reason = step.why_not(skipped)
        if reason:
            count = record_gap(step, reason, writer)
            plural = "" if count == 1 else "s"
            line = f"[{number}/{len(steps)}] {step.name}: not assessed ({count} control{plural}): {reason}"
            say(line)
            summary.append(line)
            continue
        say(f"[{number}/{len(steps)}] {step.name}: running (log {logs / f'audit-{step.name}.log'}) ...")
        started = time.monotonic()
        with (logs / f"audit-{step.name}.log").open("w", encoding="utf-8") as log:
            for command in step.commands:
                log.write("$ " + " ".join(command) + "\n")
                log.flush()
                done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, check=False)
                step.exit_codes.append(done.returncode)
        step.seconds = time.monotonic() - started
        line = f"[{number}/{len(steps)}] {step.name}: {describe(step)} in {step.seconds:.0f} s"
        say(line)
        summary.append(line)
    return summary


def describe(step: Step) -> str:
    """What the exit codes of a step's commands say (the table of :mod:`tenantprobe.exitcodes`)."""
    worst = max(step.exit_codes, default=0)
    meaning: dict[int, str] = {
        ExitCode.PASS: "done, nothing found",
        ExitCode.FAIL: "done, found problems (see the report)",
        ExitCode.INCOMPLETE: "done, some controls not assessed (see the report)",
    }
    if ExitCode.FAIL in step.exit_codes:
        return meaning[ExitCode.FAIL]  # a finding wins over a gap, as in the verdict
    return meaning.get(worst, f"could not run (exit {worst}; see its log)")
