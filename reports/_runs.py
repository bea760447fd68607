"""One report scores one run of one target.

A results directory may hold records of several runs (a directory reused between runs, stale
files from last week, another target's results). Records of other runs must never fill the
gaps of the one being scored, so every record and load result is sorted into its run
(``run_id``; records without one are the ``legacy`` run), one run is kept and the others are
only counted. A run whose records name two targets (two fingerprints for the same facet) is
refused: no verdict can speak for two systems at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

from reports._model import EvidenceFile, LoadResult, Problem
from reports._tally import RunTally
from tenantprobe.errors import ProfileError
from tenantprobe.records import RUN_ID_ENV, target_fingerprint

LEGACY = "legacy"
APPLICATION = "application"


@dataclass
class RunChoice:
    """The run a report scores, how it was chosen, and what was left out."""

    run_id: str | None  # None: the directory has no record at all
    named: bool = False
    fingerprints: dict[str, str] = field(default_factory=dict)  # facet -> target fingerprint
    ignored_records: int = 0
    ignored_runs: list[str] = field(default_factory=list)

    @property
    def legacy(self) -> bool:
        return self.run_id == LEGACY

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "legacy": self.legacy,
            "chosen": "named (--run)" if self.named else "newest",
            "target_fingerprints": dict(sorted(self.fingerprints.items())),
            "ignored_records": self.ignored_records,
            "ignored_runs": self.ignored_runs,
        }


def run_key(run_id: str | None) -> str:
    """The run a record or load result belongs to: its run id, or the legacy run without one."""
    return run_id or LEGACY


def _newest(runs: dict[str, datetime | None]) -> str:
    """The run with the latest timestamp; a run with an id always beats the legacy run."""
    with_ids = [run for run in runs if run != LEGACY] or [LEGACY]
    return max(with_ids, key=lambda run: (runs[run] or datetime.min.replace(tzinfo=UTC), run))


def _facet(target: dict[str, Any]) -> str:
    return str(target.get("facet") or APPLICATION)


def _describe(target: dict[str, Any], fingerprint: str) -> str:
    where = target.get("base_url") or target.get("server") or target.get("launch")
    what = " ".join(str(target[k]) for k in ("title", "version") if target.get(k))
    faults = f", faults {','.join(map(str, target['faults']))}" if target.get("faults") else ""
    details = ", ".join(str(d) for d in (where, what) if d)
    return f"{target.get('name') or 'unnamed'!r} ({details}{faults}; {fingerprint})"


def _check_one_target(run_id: str, records: RunTally, loads: Iterable[LoadResult]) -> dict[str, str]:
    seen: dict[str, dict[str, tuple[dict[str, Any], str]]] = defaultdict(dict)
    items = chain(
        ((target, stamped, source) for (_, stamped), (target, source) in records.targets.items()),
        ((load.data.get("target") or {}, load.target_fingerprint, load.path) for load in loads),
    )
    for target, stamped, source in items:
        fingerprint = stamped or target_fingerprint(target)
        if fingerprint is not None:
            seen[_facet(target)].setdefault(fingerprint, (target, source.rsplit(":", 1)[0]))
    for facet, by_fingerprint in seen.items():
        if len(by_fingerprint) > 1:
            described = [f"{_describe(t, fp)} in {source}" for fp, (t, source) in sorted(by_fingerprint.items())]
            raise ProfileError(
                f"run {run_id} has records of {len(described)} different targets ({facet}): "
                + " and ".join(described)
                + ". One report scores one target: write each target's results to its own directory "
                f"(or give each its own {RUN_ID_ENV}), then run the report once per directory."
            )
    return {facet: next(iter(by_fingerprint)) for facet, by_fingerprint in seen.items()}


def choose_run(
    runs: dict[str, RunTally],
    loads: list[LoadResult],
    problems: list[Problem],
    evidence_files: list[EvidenceFile],
    results_dir: Path,
    wanted: str | None,
) -> tuple[RunChoice, RunTally, list[LoadResult], list[Problem], list[EvidenceFile]]:
    """Keep the records, load results and problems of one run (``wanted``, else the newest)."""
    files: dict[str, set[str]] = defaultdict(set)  # file -> the runs it holds records or a load result of
    for key, run in runs.items():
        for name in run.files:
            files[name].add(key)
    runs = dict(runs)  # a run may have load results only
    for load in loads:
        key = run_key(load.run_id)
        runs.setdefault(key, RunTally()).saw(load.data.get("finished_at"), load.data.get("started_at"))
        files[load.path].add(key)
    times = {key: run.latest for key, run in runs.items()}
    if not times:
        if wanted:
            raise ProfileError(f"--run {wanted}: {results_dir} holds no records of any run")
        return RunChoice(None), RunTally(), loads, problems, evidence_files
    if wanted and wanted not in times:
        available = ", ".join(sorted(times))
        raise ProfileError(
            f"--run {wanted}: no records of that run in {results_dir}; the runs there are: {available} "
            f"(records without a run id are the run {LEGACY!r})"
        )
    chosen = wanted or _newest(times)
    kept = runs[chosen]
    kept_loads = [load for load in loads if run_key(load.run_id) == chosen]
    choice = RunChoice(chosen, named=bool(wanted))
    choice.fingerprints = _check_one_target(chosen, kept, kept_loads)
    others = sorted(run for run in times if run != chosen)
    choice.ignored_runs = others
    choice.ignored_records = sum(run.count for run in runs.values()) - kept.count + len(loads) - len(kept_loads)
    # A defect in a file that holds only other runs' records is theirs, not this run's.
    kept_problems = [
        p
        if not files.get(p.source.rsplit(":", 1)[0]) or chosen in files[p.source.rsplit(":", 1)[0]]
        else replace(p, message=f"{p.message} (in a file of another run: not scored)", blocking=False)
        for p in problems
    ]
    if others:
        legacy = " (records without a run id, written before run ids existed)" if LEGACY in others else ""
        kept_problems.append(
            Problem(
                "results",
                f"ignored: {choice.ignored_records} records of {len(others)} other run(s): "
                f"{', '.join(others)}{legacy}. "
                f"Only run {chosen} is scored; records of other runs never fill its gaps "
                "(--run ID scores another run).",
                blocking=False,
            )
        )
    if choice.legacy:
        kept_problems.append(
            Problem(
                "results",
                "the scored records carry no run id (written by an older tenantprobe): they are scored as one "
                "'legacy' run and nothing proves they come from a single run; re-run the suites for a report "
                "with a run id. Legacy records are shown but cannot PASS",
            )
        )
    files_read = [replace(e, records=kept.files.get(e.path, 0)) if e.records else e for e in evidence_files]
    return choice, kept, kept_loads, kept_problems, files_read
