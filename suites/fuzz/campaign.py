"""The figures of a fuzzing run: cases, requests, unexpected server errors, time spent fuzzing.

Written at the end of the session as one ``API-FUZZ-ROBUSTNESS`` measurement
(``suites/fuzz::campaign``) and printed in the terminal summary.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tenantprobe.controls import load_catalogue
from tenantprobe.records import ResultRecord, Status


@dataclass
class Campaign:
    """Figures of the whole run: cases, requests, unexpected server errors, time spent fuzzing."""

    profile: str
    seed: int | None
    cases: Counter[str] = field(default_factory=Counter)  # by driver: stateless, stateful
    scenarios: int = 0  # stateful scenarios, each with a tenant of its own
    requests: int = 0
    server_errors: int = 0  # 5xx answers the OpenAPI document does not declare
    findings: int = 0
    seconds: float = 0.0

    @contextmanager
    def timed(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())

    @property
    def cases_per_second(self) -> float:
        return self.total_cases / self.seconds if self.seconds else 0.0

    def measured(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "seed": self.seed,
            "cases": self.total_cases,
            **{f"cases_{driver}": count for driver, count in sorted(self.cases.items())},
            "stateful_scenarios": self.scenarios,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "cases_per_second": round(self.cases_per_second, 1),
            "unexpected_server_errors": self.server_errors,
            "findings": self.findings,
        }

    def record(self) -> ResultRecord:
        control = load_catalogue().get("API-FUZZ-ROBUSTNESS")
        return ResultRecord(
            control_id=control.id,
            check_id="suites/fuzz::campaign",
            status=Status.PASS if self.server_errors == 0 else Status.FAIL,
            severity=control.severity,
            summary=(
                f"{self.total_cases} fuzzed cases in {self.seconds:.1f} s ({self.cases_per_second:.0f}/s), "
                f"{self.server_errors} unexpected 5xx ({self.profile} profile)"
            ),
            measured=self.measured(),
        )

    def summary_line(self) -> str:
        seed = f", seed {self.seed} (replay with --hypothesis-seed={self.seed})" if self.seed is not None else ""
        return (
            f"tenantprobe fuzz ({self.profile}{seed}): {self.total_cases} cases "
            f"({', '.join(f'{k} {v}' for k, v in sorted(self.cases.items()))}), {self.requests} requests in "
            f"{self.seconds:.1f} s = {self.cases_per_second:.1f} cases/s; unexpected 5xx: {self.server_errors}; "
            f"findings: {self.findings}"
        )
