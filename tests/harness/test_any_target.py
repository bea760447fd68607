"""Targets written by another team, described by a profile alone: each seeded bug is found, the secure build passes.

- ``tests/targets/helpdesk.py`` (here for its bugs of the attack classes added last): a ticket list
  paged by an opaque cursor that, in ``cursor_trusts_company``, names the company of later pages;
  behind single sign-on (HS256 JWTs the harness mints), recently viewed tickets that
  ``recent_by_user`` keeps per ``sub`` alone;
- ``tests/targets/notebook.py``: Flask + SQLite, the user is the tenant (``/users/{username}/...``),
  integer ids under a wrapper, register then an OAuth2 password grant (form-encoded) that issues
  opaque tokens or, in its ``jwt`` modes, JWTs that one mode reads without checking the signature;
- ``tests/targets/teamspace.py``: Starlette, no ``security`` in the document, an API key header,
  an ``X-Org`` tenant header, slugs as ids that appear only in ``Location``, a custom verb
  (``POST /projects/{slug}:archive``); its ``global_slugs`` mode shares one slug table between orgs
  (a uniqueness not scoped to the tenant);
- ``tests/targets/orgboard/``: Django REST Framework, nested routers, organizations named in the
  path, slugs and keys as ids, DRF ``Token`` auth, a drf-spectacular document;
- ``tests/targets/shelf.py``: Flask, the tenant named by a ``/t/<library>`` prefix the document
  omits (``tenant_prefix``) or by a subdomain (``tenant_host``, a Host header on loopback).
"""

from __future__ import annotations

import pytest

from tests.harness.conftest import GATES, USER_STATE, HarnessRun, assert_clean

# Whichever test comes first pays for every scenario of the session fixture (18 suite runs, two at a time).
pytestmark = pytest.mark.timeout(1800)


@pytest.mark.parametrize(
    "name", ["notebook:secure", "notebook:jwt", "teamspace:secure", "orgboard:secure", "helpdesk:jwt"]
)
def test_secure_build_passes_with_every_cross_tenant_control_judged(
    name: str, harness_runs: dict[str, HarnessRun]
) -> None:
    run = harness_runs[name].run
    assert_clean(run, GATES)


@pytest.mark.parametrize(
    ("scenario", "control"),
    [
        ("notebook:owner_not_checked", "API-CROSS-TENANT-READ"),
        ("notebook:owner_not_checked", "API-CROSS-TENANT-WRITE"),
        ("teamspace:trusts_org_header", "API-TENANT-CONTEXT-TAMPER"),
        ("teamspace:global_slugs", "API-UNIQUENESS-SCOPE"),
        ("notebook:jwt_claims_unverified", "AUTH-JWT-VALIDATION"),
        ("teamspace:archive_by_slug", "API-CROSS-TENANT-WRITE"),
        ("orgboard:org_membership_not_checked", "API-CROSS-TENANT-READ"),
        ("orgboard:project_not_in_org", "API-NESTED-PARENT"),
        ("orgboard:tasks_not_filtered", "API-LIST-FILTER"),
        ("shelf:prefix:trusts_url", "API-TENANT-CONTEXT-TAMPER"),
        ("shelf:host:trusts_url", "API-TENANT-CONTEXT-TAMPER"),
        ("helpdesk:cursor_trusts_company", "API-LIST-FILTER"),
        ("helpdesk:recent_by_user", USER_STATE),
    ],
)
def test_seeded_bug_is_found_and_named(scenario: str, control: str, harness_runs: dict[str, HarnessRun]) -> None:
    run = harness_runs[scenario].run
    assert run.exit_code == 1, run.output
    assert control in run.controls_with("fail"), run.output


def test_the_coverage_table_shows_every_nested_operation_attacked(harness_runs: dict[str, HarnessRun]) -> None:
    """Orgboard's secure run (-v): one line per operation; the nested ones, reached through names the harness
    linked itself ({project_slug} is a project's slug), have an owner baseline and judged attacks."""
    output = harness_runs["orgboard:secure"].run.output
    table = output.split("tenantprobe: coverage per operation", 1)[1].split("\n=", 1)[0].splitlines()
    lines = {
        line.split("  ", 1)[0]: line for line in table if line.startswith(("GET ", "POST ", "PATCH ", "PUT ", "DEL"))
    }
    task = "GET /api/orgs/{org_handle}/projects/{project_slug}/tasks/{key}/"
    assert {"CROSS-TENANT-READ+", "NESTED-PARENT+", "EXISTENCE-ORACLE+"} <= set(lines[task].split()), lines[task]
    assert lines[task].split()[2] == "200"  # the owner's own read of its task: the baseline
    assert "CROSS-TENANT-WRITE+" in lines["PATCH /api/orgs/{org_handle}/projects/{project_slug}/tasks/{key}/"]
    assert "why: public" in lines["GET /api/schema/"]  # drf-spectacular's own view: anyone may read it
    assert len(lines) == 16, table


@pytest.mark.parametrize("routing", ["prefix", "host"])
def test_the_tenant_in_the_url_is_tampered_with_and_the_secure_build_holds(
    routing: str, harness_runs: dict[str, HarnessRun]
) -> None:
    """Under another tenant's prefix or Host, the attacker's own token is refused; the same read under its own
    prefix or Host is the positive control, so the pass is a judgement, not an absence of evidence."""
    run = harness_runs[f"shelf:{routing}:secure"].run
    assert run.exit_code == 0, run.output
    check = "test_tenant_route.py::test_another_tenants_prefix_or_host_does_not_switch_tenant"
    judged = [
        r for r in run.records if r["check_id"].endswith(check) and r["control_id"] == "API-TENANT-CONTEXT-TAMPER"
    ]
    assert judged, run.output
    assert {r["status"] for r in judged} == {"pass"}, run.output
    assert all(r["measured"]["blocked"] > 0 for r in judged)
    assert {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE"} <= run.controls_with("pass"), run.output


@pytest.mark.parametrize(
    ("scenario", "check", "control"),
    [
        (
            "helpdesk:secure",
            "test_references.py::test_derived_reads_with_every_filter_show_only_own_objects",
            "API-LIST-FILTER",
        ),
        (
            "helpdesk:jwt",
            "test_user_state.py::test_users_sharing_a_user_id_across_tenants_see_only_their_own_state",
            USER_STATE,
        ),
    ],
)
def test_the_secure_helpdesk_is_judged_by_the_check_its_bug_mode_fails(
    scenario: str, check: str, control: str, harness_runs: dict[str, HarnessRun]
) -> None:
    """The victim's ``next_cursor`` replayed (``limit`` and ``cursor`` tried, one attempt each), and the namesake's
    parameterless reads (the ticket list and recently viewed tickets): every pair judged pass on reads the harness
    made, so a clean run is a judgement, not an untried parameter or a not-applicable check."""
    records = [
        r for r in harness_runs[scenario].run.records if r["check_id"].endswith(check) and r["control_id"] == control
    ]
    assert {(r["pair"]["attacker"], r["pair"]["victim"]) for r in records} == {("acme", "globex"), ("globex", "acme")}
    assert {r["status"] for r in records} == {"pass"}, records
    assert all(r["measured"]["attempts"] == 2 for r in records), records
