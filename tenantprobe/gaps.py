"""The end of a run: what could not be assessed, said plainly, and a run that must not go green on it.

A pytest run whose cross-tenant checks were never judged (every token refused, no object
seeded, every body rejected) would otherwise end "all passed or skipped", exit 0. This plugin
lists every control the run declared but never judged, with the reason, and turns the exit code
non-zero when one of them is a *gate* control of the catalogue (cross-tenant read, write, list,
tenant context), unless the user accepts it explicitly with ``--accept-not-assessed``. Controls
of a facet the target lacks (no database DSN, no cluster) are listed but do not gate the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantprobe.controls import load_catalogue
from tenantprobe.exitcodes import ExitCode

REASON_CHARS = 300


class GapReport:
    """A pytest plugin object: registered once per session by ``tenantprobe.plugin``."""

    def __init__(
        self,
        writer: Callable[[], Any],
        marker: str,
        accept_option: str,
        target: Callable[[], Any] = lambda: None,
        accept_hint: str = "",
    ) -> None:
        self._writer = writer
        self._target = target
        self._marker = marker
        self._accept_option = accept_option  # the option's name for config.getoption
        self._accept_hint = accept_hint or accept_option  # the way the message tells users to set it
        self.unassessed: dict[str, str] = {}
        self.blocking: list[str] = []

    def _declared(self, session: pytest.Session) -> set[str]:
        items = getattr(session, "items", [])
        return {c for item in items for marker in item.iter_markers(self._marker) for c in marker.args}

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        writer = self._writer()
        if writer is None:
            return
        catalogue = load_catalogue()
        declared = self._declared(session)
        written = writer.unassessed()
        missing = {c: "no check wrote a record for it" for c in declared if c not in writer.outcomes}
        self.unassessed = dict(sorted({**written, **missing}.items()))
        self.blocking = [
            control_id for control_id in self.unassessed if control_id in declared and catalogue.get(control_id).gate
        ]
        accepted = session.config.getoption(self._accept_option)
        if self.blocking and not accepted and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = ExitCode.INCOMPLETE  # evidence missing; a failed check (1) wins over it

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        target = self._target()
        coverage = target.coverage_so_far if target is not None else None
        if coverage is not None:
            # With -q only the operations nothing was judged on: a long API stays readable.
            gaps_only = config.get_verbosity() < 0
            terminalreporter.section(
                "tenantprobe: coverage per operation" + (" (gaps only; -v for all)" if gaps_only else "")
            )
            for line in coverage.lines(gaps_only):
                terminalreporter.write_line(line)
        excluded = target.excluded_operations if target is not None else {}
        if excluded:
            terminalreporter.section("tenantprobe: operations never called")
            for operation, why in sorted(excluded.items()):
                terminalreporter.write_line(f"{operation}: {why}")
        if not self.unassessed:
            return
        terminalreporter.section("tenantprobe: not assessed", yellow=True)
        for control_id, reason in self.unassessed.items():
            terminalreporter.write_line(f"{control_id}: {reason[:REASON_CHARS]}")
        if self.blocking:
            accepted = config.getoption(self._accept_option)
            verdict = (
                f"accepted by {self._accept_hint}"
                if accepted
                else f"the run fails; pass {self._accept_hint} to accept the gap"
            )
            terminalreporter.write_line(
                f"cross-tenant control(s) without evidence: {', '.join(self.blocking)} ({verdict})",
                red=not accepted,
                bold=True,
            )
