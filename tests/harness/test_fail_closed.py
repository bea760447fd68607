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
FOOLING = ("refuse_tokens", "rate_limited", "reject_bodies", "server_error_writes", "redirects")


@pytest.mark.parametrize("mode", ["secure", "integer_ids", "no_id"])
def test_secure_helpdesk_passes_with_every_cross_tenant_control_judged(mode: str, tmp_path: Path) -> None:
    """Integer ids, and a create that answers no id (found again in the list by its canary), are still attacked."""
    run = attack(Helpdesk(mode).app, profile(""), tmp_path)
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
    unjudged = run.controls_with("not_assessed") | run.controls_with("error")
    assert {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE"} <= unjudged
    code, verdict = report_verdict(tmp_path / "results", tmp_path / "report")
    assert (code, verdict) == (3, "INCOMPLETE")


def test_accept_not_assessed_lets_the_run_exit_zero_and_still_lists_the_gap(tmp_path: Path) -> None:
    """With creates skipped there is nothing to attack by id: a gap, accepted only when asked."""
    nothing_to_attack = {**profile(""), "skip_operations": ["POST /api/tickets"]}
    gap = attack(Helpdesk("secure").app, nothing_to_attack, tmp_path / "gap")
    assert gap.exit_code == 1, gap.output
    accepted = attack(Helpdesk("secure").app, nothing_to_attack, tmp_path / "accepted", "--accept-not-assessed")
    assert accepted.exit_code == 0, accepted.output
    assert "accepted by --accept-not-assessed" in accepted.output
    assert "API-CROSS-TENANT-READ" in accepted.controls_with("not_assessed")
