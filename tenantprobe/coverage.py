"""Per-operation coverage: which operations got an owner baseline, which attacks were judged on them, and why not.

A run that says "12 passed" can still have attacked three operations out of fifty. The probes
report every judged or inconclusive attempt here (``Probe.observer``), the harness reports each
successful seeding create, and the end of the run prints one aligned line per operation::

    operation                      baseline  attacks (+ blocked, ! finding, ? inconclusive)
    GET /projects/{slug}           200       CROSS-TENANT-READ+ EXISTENCE-ORACLE+ NESTED-PARENT?
    DELETE /projects/{slug}        -         -   why: skip_operations
    POST /signup                   -         -   why: no attempt on it was recorded

The *baseline* is the owner's own request on the operation answering 2xx (a positive control or
a seeding create): without it no refusal on that operation proves anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tenantprobe.probe import Exchange

FINDING, BLOCKED, INCONCLUSIVE = "!", "+", "?"
_RANK = {FINDING: 2, BLOCKED: 1, INCONCLUSIVE: 0}
WHY_CHARS = 110
_PARAM = re.compile(r"\{[^}]+\}")


@dataclass
class OperationCoverage:
    key: str
    baseline: int | None = None  # the status of the owner's best own request (2xx preferred)
    attacks: dict[str, str] = field(default_factory=dict)  # control -> mark (worst outcome wins)
    reasons: list[str] = field(default_factory=list)
    excluded: str | None = None
    public: bool = False

    @property
    def judged(self) -> bool:
        return any(mark != INCONCLUSIVE for mark in self.attacks.values())

    def why(self) -> str:
        """Why nothing was judged here: excluded, skipped or inconclusive reasons, or that nothing tried."""
        if self.excluded:
            return self.excluded
        if self.public and not self.attacks:
            return "public (no credentials needed): nothing of a tenant's to attack"
        if self.reasons:
            more = f" (+{len(self.reasons) - 1} more)" if len(self.reasons) > 1 else ""
            return self.reasons[0][:WHY_CHARS] + more
        return "no attempt on it was recorded"


def _pattern(path: str) -> re.Pattern[str]:
    """``/projects/{slug}`` as a regular expression of the request paths it stands for."""
    return re.compile("[^/]+".join(re.escape(part) for part in _PARAM.split(path.rstrip("/"))) + "/?")


class Coverage:
    """What the run did per operation of the API model (``"METHOD /path"`` keys)."""

    def __init__(
        self, operations: Iterable[str], excluded: Mapping[str, str], prefix: str = "", public: Iterable[str] = ()
    ) -> None:
        self.rows: dict[str, OperationCoverage] = {key: OperationCoverage(key) for key in operations}
        for key in public:
            self.rows[key].public = True
        for key, why in excluded.items():
            self.rows[key] = OperationCoverage(key, excluded=why)
        # The base path, and the tenant's own prefix where the tenant is named in the URL (/api/t/{tenant_id}).
        self._prefix = re.compile("[^/]+".join(re.escape(part) for part in _PARAM.split(prefix.rstrip("/"))))
        # Fewer parameters first: /projects/search is /projects/search, not /projects/{slug}.
        self._patterns = sorted(
            ((key.split(" ", 1)[0], _pattern(key.split(" ", 1)[1]), key) for key in self.rows),
            key=lambda entry: entry[2].count("{"),
        )

    def operation_of(self, method: str, url: str) -> str | None:
        """The operation a request was sent to, from its method and URL (base path and query ignored)."""
        path = urlsplit(url).path
        if prefix := self._prefix.match(path):
            path = path[prefix.end() :]
        return next((key for verb, pattern, key in self._patterns if verb == method and pattern.fullmatch(path)), None)

    def _row(self, exchange: Exchange) -> OperationCoverage | None:
        key = self.operation_of(exchange.method, exchange.url)
        return self.rows.get(key) if key else None

    def baseline(self, exchange: Exchange) -> None:
        """The owner's own request on an operation; a 2xx is kept over any refusal."""
        row = self._row(exchange)
        if row is not None and (row.baseline is None or not 200 <= row.baseline < 300):
            row.baseline = exchange.status

    def __call__(
        self,
        control_id: str,
        attempt: Exchange | None,
        outcome: bool | None,
        positives: Sequence[Exchange],
        reason: str,
    ) -> None:
        """A probe's attempt: ``outcome`` True blocked, False a finding, None inconclusive (``reason`` says why)."""
        for positive in positives:
            self.baseline(positive)
        row = self._row(attempt) if attempt is not None else None
        if row is None:
            return
        mark = BLOCKED if outcome else FINDING if outcome is False else INCONCLUSIVE
        if _RANK[mark] >= _RANK.get(row.attacks.get(control_id, INCONCLUSIVE), 0):
            row.attacks[control_id] = mark
        if outcome is None and reason not in row.reasons:
            row.reasons.append(reason)

    def skipped(self, operation: str, reason: str) -> None:
        """A check could not exercise ``operation`` (``Probe.skip_operation``)."""
        row = self.rows.get(operation)
        if row is not None and reason not in row.reasons:
            row.reasons.append(reason)

    def lines(self, gaps_only: bool = False) -> list[str]:
        """The table: every operation, or (``gaps_only``) those with no judged attack, then a totals line."""
        rows = sorted(self.rows.values(), key=lambda r: (r.key.split(" ", 1)[1], r.key))
        shown = [row for row in rows if not (gaps_only and row.judged)]
        width = max([len(row.key) for row in shown] + [len("operation")])
        legend = f"attacks ({BLOCKED} blocked, {FINDING} finding, {INCONCLUSIVE} inconclusive)"
        lines = [f"{'operation':<{width}}  baseline  {legend}"] if shown else []
        for row in shown:
            baseline = str(row.baseline) if row.baseline is not None else "-"
            marks = sorted((control.removeprefix("API-"), mark) for control, mark in row.attacks.items())
            attacks = " ".join(control + mark for control, mark in marks)
            why = "" if row.judged else f"   why: {row.why()}"
            lines.append(f"{row.key:<{width}}  {baseline:<8}  {attacks or '-'}{why}")
        called = [row for row in rows if not row.excluded]
        lines.append(
            f"{len(rows)} operations: {sum(1 for r in called if r.baseline is not None and 200 <= r.baseline < 300)} "
            f"with an owner baseline, {sum(1 for r in rows if r.judged)} attacked and judged, "
            f"{len(rows) - len(called)} never called"
        )
        return lines
