"""Roles inside a tenant and references between tenants, on an app with members (``tests/targets/crew.py``).

Crew's tenants are workspaces a user owns and adds members to by their user id, the way
praisonai-platform works (its advisories are in the corpus): a member who may change the workspace
or manage members is an escalation only the role checks see, and they see it only if the member
is judged on the tenant's own workspace (not a fresh one it does not belong to) and a request to
add a member names a real user (``provisioning.new_user``) with a real role. An issue that may name
another workspace's project is a cross-tenant write; reading one's own issue back then shows that
project's id, which the attacker wrote and is no leak.
"""

from __future__ import annotations

import pytest

from tests.harness.conftest import HarnessRun, assert_clean, failed_summaries, mode_runs
from tests.targets import crew

pytestmark = pytest.mark.timeout(900)

ROLE_CHECK = "test_each_role_can_do_exactly_what_the_expectation_matrix_allows"
RUNS = {
    "secure": (),  # the whole suite: nothing may fail on the secure build
    "member_edits_workspace": ("-k", ROLE_CHECK),
    "members_manage_members": ("-k", ROLE_CHECK),
    "project_ref_not_checked": ("-k", "test_references or test_cross_tenant"),
}


crew_runs = mode_runs(crew.Crew, crew.profile(""), RUNS, "crew_runs")


def test_secure_build_passes_with_roles_and_references_judged(crew_runs: dict[str, HarnessRun]) -> None:
    run = crew_runs["secure"].run
    assert_clean(run, {"API-AUTHZ-ROLE", "API-CROSS-TENANT-WRITE"})
    role = next(r for r in run.records if r["control_id"] == "API-AUTHZ-ROLE")
    # Adding a member and changing a member's role were tried, not skipped for want of a user or an object.
    assert not any("members" in op for op in role["measured"].get("operations_not_exercised", [])), role
    # Every request the owner may make succeeded: none carried a read-only field (an issue's workspace_id).
    assert not role["measured"].get("inconclusive_reasons"), role


def test_a_member_who_renames_the_workspace_is_found(crew_runs: dict[str, HarnessRun]) -> None:
    found = failed_summaries(crew_runs["member_edits_workspace"], "API-AUTHZ-ROLE")
    assert any("member PATCH /api/workspaces/{workspace_id}: expected denied, got 200" in s for s in found), found


def test_a_member_who_adds_members_and_changes_roles_is_found(crew_runs: dict[str, HarnessRun]) -> None:
    found = " ".join(failed_summaries(crew_runs["members_manage_members"], "API-AUTHZ-ROLE"))
    assert "member POST /api/workspaces/{workspace_id}/members: expected denied, got 201" in found, found
    assert "member PATCH /api/workspaces/{workspace_id}/members/{user_id}: expected denied, got 200" in found, found


def test_a_foreign_reference_accepted_is_a_write_and_reading_it_back_is_no_leak(
    crew_runs: dict[str, HarnessRun],
) -> None:
    run = crew_runs["project_ref_not_checked"]
    assert any("project_id" in s for s in failed_summaries(run, "API-CROSS-TENANT-WRITE")), run.run.output
    assert failed_summaries(run, "API-CANARY-ORACLE") == [], run.run.output
    assert failed_summaries(run, "API-LIST-FILTER") == [], run.run.output
    assert "API-LIST-FILTER" in run.run.controls_with("pass"), run.run.output
