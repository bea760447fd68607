"""The isolation suite passes on the secure reference app and fails, naming the control, on each seeded fault.

This is the proof that no check is one that cannot fail: every isolation-related seeded
fault of the reference app must make ``pytest suites/isolation`` fail with a ``fail``
record for the control the fault breaks, and the secure build must produce no ``fail``
and no ``error`` at all. The suite finds the faults with its generic oracles; nothing in
it knows the fault list.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reference_app import faults
from tenantprobe.controls import load_catalogue
from tests.conftest import ReferenceDatabase
from tests.detection.conftest import SuiteRun, run_against_reference_app

SUITE = "suites/isolation"

# fault -> the control whose check must fail: the one reference_app/FAULTS.md names. The
# operations faults are proven by the load scenarios' noisy-neighbour SLO (tests/load).
PROVEN_BY_LOAD = {"quota_unenforced", "rate_limit_global"}
EXPECTED = {
    "rls_disabled": "DATA-RLS-FORCED",
    "app_role_bypassrls": "DATA-APP-ROLE-PRIVILEGES",
    "session_set_bleed": "DATA-POOL-BLEED",
    "deprovision_orphans": "DATA-DEPROVISION-COMPLETE",
    "dal_unscoped_get": "API-CROSS-TENANT-READ",
    "list_unfiltered": "API-LIST-FILTER",
    "search_unscoped": "API-LIST-FILTER",
    "idor_update": "API-CROSS-TENANT-WRITE",
    "idor_delete": "API-CROSS-TENANT-WRITE",
    "mass_assignment_tenant": "API-MASS-ASSIGNMENT",
    "nested_parent_unchecked": "API-NESTED-PARENT",
    "trust_tenant_header": "API-TENANT-CONTEXT-TAMPER",
    "error_detail_leak": "API-ERROR-HYGIENE",
    "existence_oracle": "API-EXISTENCE-ORACLE",
    "count_leak": "API-COUNT-LEAK",
    "role_escalation": "API-AUTHZ-ROLE",
    "jwt_alg_none": "AUTH-JWT-VALIDATION",
    "jwt_skip_audience": "AUTH-JWT-VALIDATION",
    "jwt_expired_accepted": "AUTH-JWT-VALIDATION",
    "cache_key_without_tenant": "APP-CACHE-TENANT-KEY",
    "job_context_lost": "APP-JOB-CONTEXT",
    "internal_service_trusts_caller": "APP-SERVICE-PROPAGATION",
    "analytics_row_level": "APP-ANALYTICS-AGGREGATE-ONLY",
    "metrics_tenant_from_header": "OPS-MONITORING-COVERAGE",
    "jwt_signature_cache": "AUTH-JWT-VALIDATION",
    "etag_precheck_unscoped": "API-EXISTENCE-ORACLE",
    "member_email_unique_global": "API-UNIQUENESS-SCOPE",
    "me_exposes_service_token": "API-SECRET-EXPOSURE",
    "merge_sources_unscoped": "API-CROSS-TENANT-WRITE",
    "duplicate_unscoped": "API-CROSS-TENANT-WRITE",
    "append_unscoped": "API-CROSS-TENANT-WRITE",
    "comment_feed_filter_unscoped": "API-LIST-FILTER",
    "cursor_names_tenant": "API-LIST-FILTER",
    "recent_notes_keyed_by_user": "APP-USER-STATE-SCOPE",
}


# Faults whose API serves tenant requests as the platform (BYPASSRLS) role: the data-layer
# audit of the role the app really uses must catch that too. (search_unscoped moves only the
# internal service to it, which the audit's API requests do not reach.)
PLATFORM_ROLE_FAULTS = sorted(
    name for name, fault in faults.REGISTRY.items() if fault.platform_dsn and name != "search_unscoped"
)


def test_expected_controls_are_the_ones_faults_md_names() -> None:
    named = {name: fault.control for name, fault in faults.REGISTRY.items() if name not in PROVEN_BY_LOAD}
    assert named == EXPECTED


def test_secure_reference_app_passes_every_isolation_check(secure_isolation_run: SuiteRun) -> None:
    run = secure_isolation_run
    assert run.exit_code == 0, run.output
    assert run.controls_with("fail") == set(), run.output
    assert run.controls_with("error") == set(), run.output
    assert run.controls_with("not_assessed") == set(), run.output
    # Every control the isolation suite measures applies to the reference app, and each must pass.
    measured_here = {c.id for c in load_catalogue() if c.measure.source == SUITE}
    assert run.controls_with("pass") == measured_here
    leaked = [r for r in run.records if "eyJ" in str(r)]
    assert leaked == [], "no token may reach the result records"


def controls_to_run(fault: str) -> str:
    """The checks a fault run needs: those of the control the fault breaks (the secure run above runs them all)."""
    return ",".join([EXPECTED[fault], *(["DATA-APP-ROLE-PRIVILEGES"] if fault in PLATFORM_ROLE_FAULTS else [])])


@pytest.fixture(scope="module")
def fault_runs(reference_database: ReferenceDatabase) -> Iterator[dict[str, SuiteRun]]:
    """One suite run per fault, two at a time, each against an app started with that fault alone.

    A fault run selects the checks of the fault's control with ``--controls``: the secure run
    shows every check passes without faults, so the rest of the suite would only repeat that.
    Faults are start-up settings, so each run starts its own app; its database is a copy of a
    migrated template, except for the faults set-up realises (see ``reference_database``).
    """
    with tempfile.TemporaryDirectory() as root:

        def run(fault: str) -> tuple[str, SuiteRun]:
            options = ("--tenants", "2", "--controls", controls_to_run(fault))
            dsns = reference_database((fault,))
            return fault, run_against_reference_app(SUITE, Path(root) / fault, (fault,), dsns, *options)

        with ThreadPoolExecutor(max_workers=2) as pool:
            yield dict(pool.map(run, EXPECTED))


# The first test pays for all the runs (about 3 minutes on an idle 2-core machine).
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_each_seeded_fault_fails_the_suite_naming_its_control(fault: str, fault_runs: dict[str, SuiteRun]) -> None:
    run = fault_runs[fault]
    assert run.exit_code == 1, run.output
    assert EXPECTED[fault] in run.controls_with("fail"), (
        f"{fault}: expected {EXPECTED[fault]} to fail; failed: {sorted(run.controls_with('fail'))}\n{run.output}"
    )


@pytest.mark.parametrize("fault", PLATFORM_ROLE_FAULTS)
def test_platform_role_faults_fail_the_application_role_audit(fault: str, fault_runs: dict[str, SuiteRun]) -> None:
    run = fault_runs[fault]
    assert "DATA-APP-ROLE-PRIVILEGES" in run.controls_with("fail"), (
        f"{fault}: the API serves tenants as the platform role; failed: {sorted(run.controls_with('fail'))}"
    )
