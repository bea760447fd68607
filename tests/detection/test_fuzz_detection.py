"""The fuzz suite passes on the secure reference app and fails, naming the control, on seeded faults.

The faults are those about bad input or what a response carries, which fuzzing must find on
its own (the isolation suite's matrix covers every fault with targeted checks). A fault run
uses the suite's stateless half, which suffices to catch each of them and halves the cost; the
secure run is the whole suite in its ci profile, launched as a user launches it. All runs start
together, two at a time (each fault run on an app started with it, on a copy of a migrated
template database), so one run's network waits overlap another's generation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ReferenceDatabase
from tests.detection.conftest import SuiteRun, run_against_reference_app, run_suite

SUITE = "suites/fuzz"
STATELESS = "suites/fuzz/test_stateless.py"
SECURE = "secure"
CAMPAIGN = "suites/fuzz::campaign"
# fault -> the control whose fuzz check must fail
EXPECTED = {
    "error_detail_leak": "API-ERROR-HYGIENE",
    "mass_assignment_tenant": "API-MASS-ASSIGNMENT",
    "existence_oracle": "API-EXISTENCE-ORACLE",
    "list_unfiltered": "API-LIST-FILTER",
    "idor_update": "API-CROSS-TENANT-WRITE",
}


@pytest.fixture(scope="module")
def fuzz_runs(reference_database: ReferenceDatabase) -> Iterator[dict[str, SuiteRun]]:
    with tempfile.TemporaryDirectory() as root:

        def run(name: str) -> tuple[str, SuiteRun]:
            if name == SECURE:
                return name, run_suite(SUITE, Path(root) / name)
            dsns = reference_database((name,))
            return name, run_against_reference_app(STATELESS, Path(root) / name, (name,), dsns)

        with ThreadPoolExecutor(max_workers=2) as pool:
            yield dict(pool.map(run, [SECURE, *EXPECTED]))


# The first test pays for all the runs (about 2 minutes on an idle 2-core machine).
@pytest.mark.timeout(1200)
def test_secure_reference_app_passes_the_fuzz_suite(fuzz_runs: dict[str, SuiteRun]) -> None:
    run = fuzz_runs[SECURE]
    assert run.exit_code == 0, run.output
    assert run.controls_with("fail") == set(), run.output
    assert run.controls_with("error") == set(), run.output
    judged = {
        "API-FUZZ-ROBUSTNESS",
        "API-SPEC-CONFORMANCE",
        "API-CANARY-ORACLE",
        "API-CROSS-TENANT-READ",
        "AUTH-JWT-VALIDATION",
    }
    assert judged <= run.controls_with("pass")
    campaign = next(r["measured"] for r in run.records if r["check_id"] == CAMPAIGN)
    assert campaign["cases_stateless"] > 0
    assert campaign["cases_stateful"] > 0, "the stateful half must follow the OpenAPI links"
    assert campaign["unexpected_server_errors"] == 0
    assert [r for r in run.records if "eyJ" in str(r)] == [], "no token may reach the result records"


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_each_seeded_fault_fails_the_fuzz_suite_naming_its_control(fault: str, fuzz_runs: dict[str, SuiteRun]) -> None:
    run = fuzz_runs[fault]
    assert run.exit_code == 1, run.output
    failed = [r for r in run.records if r["control_id"] == EXPECTED[fault] and r["status"] == "fail"]
    assert failed, f"{fault}: expected {EXPECTED[fault]} to fail; failed: {sorted(run.controls_with('fail'))}"
    reproductions = [item["curl"] for record in failed for item in record["evidence"] if "curl" in item]
    assert reproductions, "a finding carries a curl reproduction"
    assert all("eyJ" not in curl and "$TOKEN_" in curl for curl in reproductions), "tokens are shell variables"
