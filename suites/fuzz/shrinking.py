"""Findings as exceptions Hypothesis can shrink, and back.

A case with findings raises :class:`FuzzFinding`; Hypothesis then shrinks it and re-raises the
smallest case that still fails, which is the one recorded. Each control gets its own exception
type, so that Hypothesis treats a server error and a canary leak in the same operation as two
bugs and shrinks both (it tells bugs apart by exception type and origin).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from hypothesis.control import current_build_context
from hypothesis.errors import Flaky, HypothesisWarning
from hypothesis.reporting import with_reporter

from suites.fuzz.oracles import Verdict

if TYPE_CHECKING:
    from suites.fuzz.fuzzer import Fuzzer


class FuzzFinding(Exception):
    """A fuzzed case broke a control; carries the verdict with its evidence."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__("; ".join(f"[{f.control}] {f.summary}" for f in verdict.findings))
        self.verdict = verdict


_KINDS: dict[str, type[FuzzFinding]] = {}


def finding(verdict: Verdict) -> FuzzFinding:
    control = verdict.findings[0].control
    if control not in _KINDS:
        _KINDS[control] = type(f"FuzzFinding[{control}]", (FuzzFinding,), {})
    return _KINDS[control](verdict)


class ShrinkBudgetSpent(BaseException):
    """Raised instead of running one more shrink attempt; a BaseException, so no check mistakes it for a finding."""


class Shrinking:
    """Bounds what shrinking may cost, and keeps the findings to record if it cannot finish.

    Every shrink attempt is a real request (a whole provisioned scenario, statefully), and a faulty
    target fails in many operations. After ``budget`` executions past the first finding the run
    is stopped and the latest finding of each control is recorded: Hypothesis only tries
    candidates smaller than the best failing one, so the latest is the smallest found so far.
    (Rejecting the extra attempts instead would not do: a scenario rejected before it draws
    its steps makes Hypothesis' replays inconsistent.)
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.spent: int | None = None  # executions since the first finding
        self.first: dict[str, Verdict] = {}
        self.latest: dict[str, Verdict] = {}
        self.exhausted = False

    def admit(self) -> None:
        """Call before executing an example: stops the run once the budget is spent."""
        if self.spent is None or current_build_context().is_final:
            return
        if self.spent >= self.budget:
            self.exhausted = True
            raise ShrinkBudgetSpent
        self.spent += 1

    def fail(self, verdict: Verdict) -> FuzzFinding:
        """The exception to raise for ``verdict``, remembered per control."""
        if self.spent is None:
            self.spent = 0
        for item in verdict.findings:
            alone = Verdict([item], history=verdict.history, operation=verdict.operation)
            self.first.setdefault(item.control, alone)
            self.latest[item.control] = alone
        return finding(verdict)


def findings_in(error: BaseException) -> list[Verdict] | None:
    """The verdicts inside what Hypothesis raised, or None if it raised anything else as well."""
    if isinstance(error, FuzzFinding):
        return [error.verdict]
    if isinstance(error, BaseExceptionGroup):
        found: list[Verdict] = []
        for inner in error.exceptions:
            verdicts = findings_in(inner)
            if verdicts is None:
                return None
            found += verdicts
        return found
    return None


def _outcome(error: BaseException, shrinking: Shrinking) -> tuple[list[Verdict], str] | None:
    """The verdicts to record for what Hypothesis raised, and how far they were shrunk; None: not ours."""
    # Hypothesis may wrap the stop in an error of its own (the scenario ended before drawing its steps).
    if shrinking.exhausted:
        return list(shrinking.latest.values()), "partly shrunk (shrink budget spent)"
    verdicts = findings_in(error)
    if isinstance(error, Flaky):
        # The final replay did not fail again: the target's state moved on (a foreign delete that
        # worked, a note that now exists). What was found stands; it is recorded as first seen.
        return (verdicts or list(shrinking.first.values())), "as first seen (its replay did not fail again)"
    if verdicts is None:
        return None
    return verdicts, "shrunk by Hypothesis"


def record_outcome(error: BaseException, shrinking: Shrinking, fuzzer: Fuzzer, context: str) -> list[Verdict]:
    """Record the findings in what Hypothesis raised, saying how far they were shrunk; re-raise anything else."""
    found = _outcome(error, shrinking)
    if found is None:
        raise error
    verdicts, how = found
    for verdict in verdicts:
        fuzzer.record_findings(verdict, f"{context}, {how}")
    return verdicts


@contextmanager
def quietly() -> Iterator[None]:
    """Hypothesis' own report goes nowhere (findings become records), and one harmless warning is dropped.

    schemathesis cases can have reprs over Hypothesis' size limit, which then warns; schemathesis
    ignores that warning in its own runs for the same reason.
    """
    with warnings.catch_warnings(), with_reporter(lambda _: None):
        warnings.filterwarnings("ignore", category=HypothesisWarning, message="Generating overly large repr")
        yield
