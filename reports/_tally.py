"""What a report needs from the records of a control, gathered one record at a time.

A results directory may hold 100,000 records, and the report shows at most :data:`MAX_CHECK_ROWS`
records and :data:`MAX_EVIDENCE_ITEMS` evidence items a control. So the reader does not keep the
records: each is folded into the :class:`ControlTally` of its control (counts, sums, extremes, the
first records of each status) and dropped. Memory grows with the number of controls, tenant pairs and
distinct failure texts, not with the number of records. Every figure is the one a pass over all the
records would give, in the same order (``max`` keeps its first maximum, so the folds do too).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reports._model import STATUS_ORDER, Problem, Record
from tenantprobe.controls import Control

MAX_CHECK_ROWS = 30  # records listed per control in report.html, worst status first
MAX_EVIDENCE_ITEMS = 6  # evidence items shown per control in report.html
MAX_FINDINGS = 50  # failing or erroring records listed per control in report.json, junit.xml and SARIF


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def is_truth_table(item: Any) -> bool:
    """The network suite's rows x columns table: shown whatever the status (it is the proof of a pass too)."""
    return isinstance(item, dict) and set(item) == {"truth_table"} and isinstance(item["truth_table"], str)


@dataclass
class Peak:
    """``max`` of a stream that another stream will precede (the load files' figures come first).

    ``first`` and the largest number (NaN left out, the first of equal ones kept) are enough to
    give what ``max(before + stream)`` gives, NaN included.
    """

    first: float | None = None
    largest: float | None = None

    def add(self, value: float) -> None:
        if self.first is None:
            self.first = value
        if value == value and (self.largest is None or value > self.largest):
            self.largest = value

    def after(self, before: list[float]) -> float | None:
        """``max(before + stream)``, None when both are empty."""
        if not before:
            return self.first if self.first is None or self.first != self.first else self.largest
        start = max(before)
        return self.largest if start == start and self.largest is not None and self.largest > start else start


@dataclass
class ControlTally:
    """The records of one control in one run, folded: see the module docstring."""

    control: Control
    count: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # by effective status (what control_result scores)
    problems: list[Problem] = field(default_factory=list)
    fail_texts: dict[str, None] = field(default_factory=dict)  # distinct, in order: the reason's excerpt
    error_texts: dict[str, None] = field(default_factory=dict)
    other_texts: dict[str, None] = field(default_factory=dict)  # not assessed, not applicable, waived
    attempts: tuple[int, int] = (0, 0)  # judged cross-tenant attempts and blocked, of pass and fail records
    inconclusive: int = 0
    lowest: float | None = None  # of measured[control.measure.name]
    highest: float | None = None
    memory: Peak = field(default_factory=Peak)  # measured.memory_percent_max
    targets: dict[int, dict[str, Any]] = field(default_factory=dict)  # distinct target dicts, first seen first
    started_at: str | None = None  # earliest
    finished_at: str | None = None  # latest
    rows: dict[int, list[Record]] = field(default_factory=lambda: defaultdict(list))  # status rank -> first records
    findings: list[Record] = field(default_factory=list)
    evidence: list[tuple[Record, Any]] = field(default_factory=list)
    fails_by_attack: dict[str, tuple[int, str]] = field(default_factory=dict)  # class -> (fail records, first text)

    def add(self, record: Record) -> tuple[int, int]:
        """Fold one record in (records must come in file order: the first ones are the ones shown); returns its
        judged cross-tenant attempts and blocked (none unless it passed or failed)."""
        self.count += 1
        status: str = record.status
        effective = status
        if status == "not_applicable" and not record.reason:
            self.problems.append(
                Problem(record.source, f"{self.control.id}: not_applicable without a reason counts as not assessed")
            )
            effective = "not_assessed"
        elif status == "waived":
            # Waivers are the user's decision, kept in the waivers file, never a suite's.
            self.problems.append(
                Problem(record.source, f"{self.control.id}: a suite wrote 'waived'; waivers come only from --waivers")
            )
            effective = "not_assessed"
        self.counts[effective] = self.counts.get(effective, 0) + 1
        failed = status in ("fail", "error")
        if status == "fail":
            self.fail_texts.setdefault(record.summary or record.check_id)
            count, first = self.fails_by_attack.get(record.attack or "", (0, record.summary or record.check_id))
            self.fails_by_attack[record.attack or ""] = (count + 1, first)
        elif status == "error":
            self.error_texts.setdefault(f"{record.check_id}: {record.reason}")
        elif status != "pass":
            self.other_texts.setdefault(record.reason or "not assessed")
        judged = self._measures(record, status)
        if record.target and id(record.target) not in self.targets:
            self.targets[id(record.target)] = record.target
        if record.started_at and (self.started_at is None or record.started_at < self.started_at):
            self.started_at = record.started_at
        if record.finished_at and (self.finished_at is None or record.finished_at > self.finished_at):
            self.finished_at = record.finished_at
        rank = STATUS_ORDER.index(status) if status in STATUS_ORDER else 0
        if len(shown := self.rows[rank]) < MAX_CHECK_ROWS:
            shown.append(record)
        if failed and len(self.findings) < MAX_FINDINGS:
            self.findings.append(record)
        if len(self.evidence) < MAX_EVIDENCE_ITEMS:
            for item in record.evidence:
                if failed or is_truth_table(item):
                    self.evidence.append((record, item))
                    if len(self.evidence) == MAX_EVIDENCE_ITEMS:
                        break
        return judged

    def _measures(self, record: Record, status: str) -> tuple[int, int]:
        measured = record.measured
        judged = (0, 0)
        if status in ("pass", "fail"):
            judged = attempts, blocked = record.attempts
            self.attempts = (self.attempts[0] + attempts, self.attempts[1] + blocked)
        if record.attacker and isinstance(count := measured.get("inconclusive"), int) and count > 0:
            self.inconclusive += count
        name = self.control.measure.name
        if name and (value := _number(measured.get(name))) is not None:
            if self.lowest is None or value < self.lowest:
                self.lowest = value
            if self.highest is None or value > self.highest:
                self.highest = value
        if isinstance(memory := measured.get("memory_percent_max"), int | float):
            self.memory.add(float(memory))
        return judged

    def check_rows(self) -> tuple[list[Record], int]:
        """The records listed in the report (worst status first, then file order) and how many are not."""
        ordered = [record for rank in sorted(self.rows) for record in self.rows[rank]]
        return ordered[:MAX_CHECK_ROWS], max(0, self.count - MAX_CHECK_ROWS)


def parse_time(value: Any) -> datetime | None:
    """A timestamp with its time zone, else None (a naive or malformed one says nothing about when)."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


@dataclass
class RunTally:
    """The records of one run: a tally per control, and what choosing the run and checking its target need."""

    order: dict[str, int] = field(default_factory=dict)  # control id -> position in the catalogue
    controls: dict[str, ControlTally] = field(default_factory=dict)
    # (attacker, victim) -> [attempts, blocked, (position of the first control, record number)] of the isolation
    # controls: one matrix for the run, in the order of a pass over the controls in catalogue order.
    cells: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    count: int = 0
    files: dict[str, int] = field(default_factory=dict)  # file -> records of this run read from it
    # (target dict, stamped fingerprint) -> (target, first source): the target check looks at each pair once.
    # Records without a target share the key 0: their empty dicts are all alike.
    targets: dict[tuple[int, str | None], tuple[dict[str, Any], str]] = field(default_factory=dict)
    latest: datetime | None = None  # the latest start or end time of a record
    _timestamps: tuple[str | None, str | None] = (None, None)  # the last record's: a check's records share them

    def add(self, record: Record, control: Control) -> None:
        """Count a record of this run (read or derived from a load result or --docs) and fold it in."""
        self.count += 1
        tally = self.controls.get(control.id)
        if tally is None:
            tally = self.controls[control.id] = ControlTally(control)
        attempts, blocked = tally.add(record)
        # The same judged attempts as the Tenant Isolation Score: a record without them adds no cell.
        if attempts and control.isolation and record.attacker and record.victim:
            first = (self.order.get(control.id, len(self.order)), self.count)
            cell = self.cells.get((record.attacker, record.victim))
            if cell is None:
                self.cells[(record.attacker, record.victim)] = [attempts, blocked, first]
            else:
                cell[0] += attempts
                cell[1] += blocked
                cell[2] = min(cell[2], first)

    def read(self, record: Record, control: Control, file: str) -> None:
        """A record read from ``file``: also what choosing the run and checking its target look at."""
        self.files[file] = self.files.get(file, 0) + 1
        key = (id(record.target) if record.target else 0, record.target_fingerprint)
        if key not in self.targets:
            self.targets[key] = (record.target, record.source)
        timestamps = (record.started_at, record.finished_at)
        if timestamps != self._timestamps:
            self._timestamps = timestamps
            self.saw(*timestamps)
        self.add(record, control)

    def saw(self, *values: Any) -> None:
        """Timestamps of this run (of a record or a load result): the newest run is the default one."""
        for value in values:
            parsed = parse_time(value)
            if parsed is not None and (self.latest is None or parsed > self.latest):
                self.latest = parsed
