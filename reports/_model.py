"""The shapes the report is built from: normalised records, input problems, control outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tenantprobe.controls import Control
from tenantprobe.records import ResultRecord

if TYPE_CHECKING:
    from reports._tally import ControlTally

# Per-control status precedence when a control has several records: the worst one wins, and
# "worst" is fail-closed: missing or broken evidence outranks a pass.
STATUS_ORDER = ("fail", "error", "not_assessed", "waived", "pass", "not_applicable")
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
class Record(ResultRecord):
    """A result record as the report holds it: the shared :class:`ResultRecord` and where it came from.

    ``source`` is ``file:line`` for a record read from a results file, or what derived it (a load
    file, ``--docs``).
    """

    source: str = ""


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
    def run_id(self) -> str | None:
        return str(self.data["run_id"]) if self.data.get("run_id") else None

    @property
    def target_fingerprint(self) -> str | None:
        return str(self.data["target_fingerprint"]) if self.data.get("target_fingerprint") else None

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
    tally: ControlTally  # the control's records, folded (the report keeps none of them whole)
    raw_status: str
    value: float | None = None
    waiver: Waiver | None = None
    counts: dict[str, int] = field(default_factory=dict)
    declaration: Declaration | None = None

    @property
    def assessed(self) -> bool:
        """Whether the run produced evidence either way (a pass or a fail) for the control."""
        return self.raw_status in ("pass", "fail")

    @property
    def critical_isolation(self) -> bool:
        """A control whose failure or gap nothing can accept: neither a waiver nor a high score."""
        return self.control.severity == "critical" and self.control.isolation

    @property
    def failed(self) -> bool:
        """Failed; for a critical isolation control also when waived, since no waiver can accept that."""
        return self.status == "fail" or (self.critical_isolation and self.raw_status == "fail")

    @property
    def proven(self) -> bool:
        """For a critical isolation control: passing, or declared not applicable by a person (never by a suite)."""
        return self.raw_status == "pass" or (self.status == "not_applicable" and self.declaration is not None)

    @property
    def attempts(self) -> tuple[int, int]:
        """Judged cross-tenant attempts and how many were blocked (see :attr:`ResultRecord.attempts`)."""
        return self.tally.attempts
