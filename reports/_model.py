"""The shapes the report is built from: normalised records, input problems, control outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tenantprobe.controls import Control

# Per-control status precedence when a control has several records: the worst one wins, and
# "worst" is fail-closed: missing or broken evidence outranks a pass.
STATUS_ORDER = ("fail", "error", "not_assessed", "waived", "pass", "not_applicable")
STATUSES = frozenset(STATUS_ORDER)
SEVERITIES = ("critical", "high", "medium", "low")


class Verdict(StrEnum):
    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    INCOMPLETE = "INCOMPLETE"


@dataclass(frozen=True)
class Problem:
    """Something wrong with the report's inputs. ``blocking`` problems rule out a PASS verdict."""

    source: str
    message: str
    blocking: bool = True


@dataclass
class Record:
    """A result record as read from a results file (or derived from a load result or the docs)."""

    control_id: str
    check_id: str
    status: str
    source: str
    summary: str = ""
    severity: str = ""
    reason: str | None = None
    measured: dict[str, Any] = field(default_factory=dict)
    evidence: list[Any] = field(default_factory=list)
    attacker: str | None = None
    victim: str | None = None
    target: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def attempts(self) -> tuple[int, int]:
        """(attempts, blocked): measured when the record has them, else one attempt per pass/fail record."""
        attempts, blocked = self.measured.get("attempts"), self.measured.get("blocked")
        if isinstance(attempts, int) and isinstance(blocked, int) and 0 <= blocked <= attempts:
            return attempts, blocked
        if self.status == "pass":
            return 1, 1
        if self.status == "fail":
            return 1, 0
        return 0, 0


@dataclass(frozen=True)
class EvidenceFile:
    path: str
    sha256: str
    size: int
    records: int


@dataclass
class LoadResult:
    """One ``load-*.json`` file (schema ``reports/load-result.schema.json``)."""

    path: str
    scenario: str
    data: dict[str, Any]

    @property
    def metrics(self) -> dict[str, float]:
        raw = self.data.get("metrics", {})
        return {k: float(v) for k, v in raw.items() if isinstance(v, int | float) and not isinstance(v, bool)}


@dataclass(frozen=True)
class Waiver:
    control_id: str
    reason: str
    owner: str
    expires: str
    expired: bool
    source: str


@dataclass(frozen=True)
class Declaration:
    """A control the user declares not applicable to the target, with the reason."""

    control_id: str
    reason: str
    source: str


@dataclass
class ControlResult:
    control: Control
    status: str
    reason: str
    records: list[Record]
    raw_status: str
    value: float | None = None
    waiver: Waiver | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def assessed(self) -> bool:
        """Whether the run produced evidence either way (a pass or a fail) for the control."""
        return self.raw_status in ("pass", "fail")

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    @property
    def attempts(self) -> tuple[int, int]:
        totals = [r.attempts for r in self.records if r.status in ("pass", "fail")]
        return sum(a for a, _ in totals), sum(b for _, b in totals)
