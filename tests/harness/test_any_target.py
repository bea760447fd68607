"""Targets written by another team, described by a profile alone: each seeded bug is found, the secure build passes.

- ``tests/targets/notebook.py``: Flask + SQLite, the user is the tenant (``/users/{username}/...``),
  integer ids under a wrapper, register then an OAuth2 password grant (form-encoded);
- ``tests/targets/teamspace.py``: Starlette, no ``security`` in the document, an API key header,
  an ``X-Org`` tenant header, slugs as ids that appear only in ``Location``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.conftest import attack
from tests.targets import notebook, teamspace

GATES = {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE", "API-LIST-FILTER", "API-TENANT-CONTEXT-TAMPER"}
TARGETS: dict[str, tuple[Any, Any]] = {
    "notebook": (notebook.Notebook, notebook.profile),
    "teamspace": (teamspace.Teamspace, teamspace.profile),
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_secure_build_passes_with_every_cross_tenant_control_judged(name: str, tmp_path: Path) -> None:
    app, profile = TARGETS[name]
    run = attack(app("secure").app, profile(""), tmp_path)
    assert run.exit_code == 0, run.output
    assert run.controls_with("fail") == set(), run.output
    assert run.controls_with("pass") >= GATES, run.output


@pytest.mark.parametrize(
    ("name", "mode", "control"),
    [
        ("notebook", "owner_not_checked", "API-CROSS-TENANT-READ"),
        ("notebook", "owner_not_checked", "API-CROSS-TENANT-WRITE"),
        ("teamspace", "trusts_org_header", "API-TENANT-CONTEXT-TAMPER"),
    ],
)
def test_seeded_bug_is_found_and_named(name: str, mode: str, control: str, tmp_path: Path) -> None:
    app, profile = TARGETS[name]
    run = attack(app(mode).app, profile(""), tmp_path)
    assert run.exit_code == 1, run.output
    assert control in run.controls_with("fail"), run.output
