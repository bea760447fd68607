"""Targets written by another team, described by a profile alone: each seeded bug is found, the secure build passes.

- ``tests/targets/notebook.py``: Flask + SQLite, the user is the tenant (``/users/{username}/...``),
  integer ids under a wrapper, register then an OAuth2 password grant (form-encoded) that issues
  opaque tokens or, in its ``jwt`` modes, JWTs that one mode reads without checking the signature;
- ``tests/targets/teamspace.py``: Starlette, no ``security`` in the document, an API key header,
  an ``X-Org`` tenant header, slugs as ids that appear only in ``Location``, a custom verb
  (``POST /projects/{slug}:archive``); its ``global_slugs`` mode shares one slug table between orgs
  (a uniqueness not scoped to the tenant).
"""

from __future__ import annotations

import pytest

from tests.harness.conftest import GATES, HarnessRun

# Whichever test comes first pays for every scenario of the session fixture (18 suite runs, two at a time).
pytestmark = pytest.mark.timeout(1800)


@pytest.mark.parametrize("name", ["notebook:secure", "notebook:jwt", "teamspace:secure"])
def test_secure_build_passes_with_every_cross_tenant_control_judged(
    name: str, harness_runs: dict[str, HarnessRun]
) -> None:
    run = harness_runs[name].run
    assert run.exit_code == 0, run.output
    assert run.controls_with("fail") == set(), run.output
    assert run.controls_with("pass") >= GATES, run.output


@pytest.mark.parametrize(
    ("scenario", "control"),
    [
        ("notebook:owner_not_checked", "API-CROSS-TENANT-READ"),
        ("notebook:owner_not_checked", "API-CROSS-TENANT-WRITE"),
        ("teamspace:trusts_org_header", "API-TENANT-CONTEXT-TAMPER"),
        ("teamspace:global_slugs", "API-UNIQUENESS-SCOPE"),
        ("notebook:jwt_claims_unverified", "AUTH-JWT-VALIDATION"),
        ("teamspace:archive_by_slug", "API-CROSS-TENANT-WRITE"),
    ],
)
def test_seeded_bug_is_found_and_named(scenario: str, control: str, harness_runs: dict[str, HarnessRun]) -> None:
    run = harness_runs[scenario].run
    assert run.exit_code == 1, run.output
    assert control in run.controls_with("fail"), run.output
