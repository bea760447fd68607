"""A target that misbehaves on the wire never makes the suite go green, and never draws a request off its origin.

Each mode of the helpdesk (``tests/targets/helpdesk.py``) answers every authenticated read in one
broken way: a body far over ``max_body_bytes``, HTML or JSON that does not parse, an empty 200,
a drip slower than ``request_timeout_seconds``, a reset connection, or a redirect to another
origin (a decoy server that records every hit). Each run must end with the cross-tenant read
not assessed, its reason naming what went wrong, and a report that is not PASS. The same
secure helpdesk under the same limits passes, and a crash (500 or reset) that only another
tenant's id provokes is a finding.
"""

from __future__ import annotations

import pytest

from tenantprobe.exitcodes import ExitCode
from tests.harness.conftest import CRASHING, SKIPPED, WireRun
from tests.targets.helpdesk import MISBEHAVING

READ = "API-CROSS-TENANT-READ"
# mode -> words the not-assessed reason must contain
REASONS = {
    "giant_bodies": "body larger than the 1048576-byte cap",
    "garbage": "HTML page where an API answer was expected",
    "empty_ok": "with an empty body",
    "slow_drip": "answer not complete after 0.5 s",
    "reset": "connection reset or closed without an answer",
    "offsite_redirect": "redirected to another origin",
}


def reasons(run: WireRun, control: str) -> str:
    return "\n".join(
        str(record.get("reason")) + str(record.get("measured", {}).get("inconclusive_reasons", ""))
        for record in run.found.run.records
        if record["control_id"] == control
    )


# The first test pays for every run: about 40 s on an idle 2-core machine, minutes on a busy one.
@pytest.mark.timeout(900)
def test_secure_helpdesk_under_tight_limits_passes_and_never_calls_skipped_operations(
    wire_runs: dict[str, WireRun],
) -> None:
    """The limits do not hurt a target that behaves: reads pass; the profile skips both writes by id, and neither
    reaches the target."""
    found = wire_runs["skip"]
    run = found.found.run
    assert run.controls_with("fail") == run.controls_with("error") == set(), run.output
    assert READ in run.controls_with("pass"), run.output  # the writes skipped, their control is a stated gap
    methods = {hit.split(" ", 1)[0] for hit in found.hits}
    assert "GET" in methods
    assert not {"PUT", "DELETE"} & methods, f"{SKIPPED} are skipped, yet the target received {sorted(methods)}"


@pytest.mark.parametrize("mode", MISBEHAVING)
def test_misbehaving_target_never_goes_green_and_says_why(mode: str, wire_runs: dict[str, WireRun]) -> None:
    found = wire_runs[mode]
    run = found.found.run
    # Neither green nor a crash: a failed check (1) or evidence missing (3), never pytest's INTERNALERROR.
    assert run.exit_code in (ExitCode.FAIL, ExitCode.INCOMPLETE), run.output
    assert "Traceback" not in run.output, run.output
    assert "INTERNALERROR" not in run.output, run.output
    # Reads cannot show whose data they hold; writes cannot be seen through the victim's reads.
    assert not {READ, "API-CROSS-TENANT-WRITE"} & run.controls_with("pass"), run.output
    assert READ in run.controls_with("not_assessed"), run.output
    assert REASONS[mode] in reasons(found, READ), reasons(found, READ)
    assert found.found.report_verdict()[1] in ("INCOMPLETE", "FAIL")


def test_redirect_to_another_origin_is_never_followed(wire_runs: dict[str, WireRun]) -> None:
    found = wire_runs["offsite_redirect"]
    assert any(hit.startswith("GET /api/tickets") for hit in found.hits)  # the redirects were answered
    assert found.decoy_hits == [], "the harness followed a redirect to another origin"


@pytest.mark.parametrize("mode", CRASHING)
def test_crash_provoked_only_by_a_foreign_id_is_a_finding(mode: str, wire_runs: dict[str, WireRun]) -> None:
    run = wire_runs[mode].found.run
    assert run.exit_code == 1, run.output
    assert READ in run.controls_with("fail"), run.output
    failed = [r for r in run.records if r["control_id"] == READ and r["status"] == "fail"]
    assert "the other tenant's id made the target fail" in failed[0]["summary"]
