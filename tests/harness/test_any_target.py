"""Targets written by another team, described by a profile alone: each seeded bug is found, the secure build passes.

- ``tests/targets/notebook.py``: Flask + SQLite, the user is the tenant (``/users/{username}/...``),
  integer ids under a wrapper, register then an OAuth2 password grant (form-encoded);
- ``tests/targets/teamspace.py``: Starlette, no ``security`` in the document, an API key header,
  an ``X-Org`` tenant header, slugs as ids that appear only in ``Location``, a custom verb
  (``POST /projects/{slug}:archive``).
"""

from __future__ import annotations

import pytest

from tests.harness.conftest import GATES, HarnessRun


@pytest.mark.parametrize("name", ["notebook", "teamspace"])
def test_secure_build_passes_with_every_cross_tenant_control_judged(
    name: str, harness_runs: dict[str, HarnessRun]
) -> None:
    run = harness_runs[f"{name}:secure"].run
    assert run.exit_code == 0, run.output
    assert run.controls_with("fail") == set(), run.output
    assert run.controls_with("pass") >= GATES, run.output


@pytest.mark.parametrize(
    ("scenario", "control"),
    [
        ("notebook:owner_not_checked", "API-CROSS-TENANT-READ"),
        ("notebook:owner_not_checked", "API-CROSS-TENANT-WRITE"),
        ("teamspace:trusts_org_header", "API-TENANT-CONTEXT-TAMPER"),
        ("teamspace:archive_by_slug", "API-CROSS-TENANT-WRITE"),
    ],
)
def test_seeded_bug_is_found_and_named(scenario: str, control: str, harness_runs: dict[str, HarnessRun]) -> None:
    run = harness_runs[scenario].run
    assert run.exit_code == 1, run.output
    assert control in run.controls_with("fail"), run.output
