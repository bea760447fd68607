"""No green without evidence: targets that refuse, throttle, reject, redirect or hide their ids.

Each mode of the helpdesk app (``tests/targets/helpdesk.py``) is one way a careless harness
turns "checked nothing" into "passed". For each, the isolation suite must not exit 0, must name
the cross-tenant controls it could not assess, and must write no ``pass`` for them; the report
built from the run must not say PASS. The secure helpdesk passes with those controls judged,
and its seeded update leak (behind a ``minLength`` rule) is found.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.conftest import attack, report_verdict
from tests.targets.helpdesk import Helpdesk, profile

GATES = {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE", "API-LIST-FILTER", "API-TENANT-CONTEXT-TAMPER"}
FOOLING = ("refuse_tokens", "rate_limited", "reject_bodies", "integer_ids", "no_id", "server_error_writes", "redirects")


def test_secure_helpdesk_passes_with_every_cross_tenant_control_judged(tmp_path: Path) -> None:
    run = attack(Helpdesk("secure").app, profile(""), tmp_path)
    assert run.exit_code == 0, run.output
    assert run.controls_with("fail") == set(), run.output
    assert run.controls_with("pass") >= GATES, run.output
    judged = [r for r in run.records if r["control_id"] == "API-CROSS-TENANT-WRITE" and r["status"] == "pass"]
    assert all(r["measured"]["attempts"] > 0 for r in judged)


def test_update_leak_behind_a_min_length_rule_is_found(tmp_path: Path) -> None:
    run = attack(Helpdesk("update_leak").app, profile(""), tmp_path)
    assert run.exit_code == 1, run.output
    assert "API-CROSS-TENANT-WRITE" in run.controls_with("fail"), run.output


@pytest.mark.parametrize("mode", FOOLING)
def test_target_that_fools_a_harness_never_goes_green(mode: str, tmp_path: Path) -> None:
    run = attack(Helpdesk(mode).app, profile(""), tmp_path)
    assert run.exit_code != 0, run.output
    assert "(the run fails; pass --accept-not-assessed to accept the gap)" in run.output, run.output
    # Without objects addressed by id (or valid writes) nothing can show a cross-tenant read or write.
    assert not {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE"} & run.controls_with("pass"), run.output
    assert {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE"} <= run.controls_with("not_assessed")
    code, verdict = report_verdict(tmp_path / "results", tmp_path / "report")
    assert (code, verdict) == (3, "INCOMPLETE")


def test_accept_not_assessed_lets_the_run_exit_zero_and_still_lists_the_gap(tmp_path: Path) -> None:
    run = attack(Helpdesk("refuse_tokens").app, profile(""), tmp_path, "--accept-not-assessed")
    assert run.exit_code == 0, run.output
    assert "accepted by --accept-not-assessed" in run.output
