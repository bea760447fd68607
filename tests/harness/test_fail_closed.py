"""No green without evidence: targets that refuse, throttle, reject, redirect or hide their ids.

Each mode of the helpdesk app (``tests/targets/helpdesk.py``) is one way a careless harness
turns "checked nothing" into "passed". For each, the isolation suite must not exit 0, must name
the cross-tenant controls it could not assess, and must write no ``pass`` for them; the report
built from the run must not say PASS. The secure helpdesk passes with those controls judged,
also with integer ids and with a create that answers no id, and its seeded update leak (behind
a ``minLength`` rule) is found.
"""

from __future__ import annotations

import re

import pytest

from tests.harness.conftest import FOOLING, GATES, HarnessRun, assert_clean

# Whichever test comes first pays for every scenario of the session fixture (18 suite runs, two at a time).
pytestmark = pytest.mark.timeout(1800)


@pytest.mark.parametrize("mode", ["secure", "integer_ids", "no_id"])
def test_secure_helpdesk_passes_with_every_cross_tenant_control_judged(
    mode: str, harness_runs: dict[str, HarnessRun]
) -> None:
    run = harness_runs[f"helpdesk:{mode}"].run
    assert_clean(run, GATES)
    judged = [r for r in run.records if r["control_id"] == "API-CROSS-TENANT-WRITE" and r["status"] == "pass"]
    assert all(r["measured"]["attempts"] > 0 for r in judged)


def test_update_leak_behind_a_min_length_rule_is_found(harness_runs: dict[str, HarnessRun]) -> None:
    run = harness_runs["helpdesk:update_leak"].run
    assert run.exit_code == 1, run.output
    assert "API-CROSS-TENANT-WRITE" in run.controls_with("fail"), run.output


@pytest.mark.parametrize("mode", FOOLING)
def test_target_that_fools_a_harness_never_goes_green(mode: str, harness_runs: dict[str, HarnessRun]) -> None:
    found = harness_runs[f"helpdesk:{mode}"]
    run = found.run
    assert run.exit_code != 0, run.output
    assert "(the run fails; pass --accept-not-assessed to accept the gap)" in run.output, run.output
    # Without objects addressed by id (or valid writes) nothing can show a cross-tenant read or write.
    assert not {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE"} & run.controls_with("pass"), run.output
    unjudged = run.controls_with("not_assessed") | run.controls_with("error")
    assert {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE"} <= unjudged
    assert found.report_verdict() == (3, "INCOMPLETE")


def test_accept_not_assessed_lets_the_run_exit_zero_and_still_lists_the_gap(
    harness_runs: dict[str, HarnessRun],
) -> None:
    """With creates skipped there is nothing to attack by id: a gap, accepted only when asked."""
    gap, accepted = harness_runs["helpdesk:gap"].run, harness_runs["helpdesk:gap-accepted"].run
    assert gap.exit_code == 3, gap.output  # INCOMPLETE (tenantprobe.exitcodes)
    assert accepted.exit_code == 0, accepted.output
    assert "accepted by --accept-not-assessed" in accepted.output
    assert "API-CROSS-TENANT-READ" in accepted.controls_with("not_assessed")


def test_the_coverage_table_names_each_operation_nothing_was_judged_on(harness_runs: dict[str, HarnessRun]) -> None:
    """With creates skipped the table (-q: gaps only) names the skipped operation and its reason, then totals."""
    output = harness_runs["helpdesk:gap"].run.output
    assert "tenantprobe: coverage per operation (gaps only; -v for all)" in output, output
    gaps = [line for line in output.splitlines() if "   why: " in line]
    assert any(line.startswith("POST /api/tickets ") and line.endswith("why: skip_operations") for line in gaps)
    assert re.search(
        r"^\d+ operations: \d+ with an owner baseline, \d+ attacked and judged, 1 never called$", output, re.M
    )
