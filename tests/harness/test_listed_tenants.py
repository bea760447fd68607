"""Tenants whose own values exist before the run (a team, a DAG file), listed per tenant for the identity steps.

Some apps cannot make a whole tenant over their API: the teams and what they own come from files
or an admin console, and only the users are created by steps. ``provisioning.tenants`` under kind
``steps`` gives each tenant its own values (here the org each signup names); the steps use them
like any variable, one entry per provisioned tenant, and a run that needs more tenants than are
listed stops with the fix.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.harness.conftest import HarnessRun, run_against
from tests.targets import teamspace

pytestmark = pytest.mark.timeout(600)


def _profile(orgs: list[str]) -> dict[str, Any]:
    profile = teamspace.profile("")
    provisioning = {
        **profile["provisioning"],
        "tenants": [{"org": org} for org in orgs],
        "tenant_id": "{org}",
        "steps": [{"request": "POST /signup", "json": {"org": "{org}"}, "capture": {"key": "$.api_key"}}],
    }
    return {**profile, "provisioning": provisioning}


def _run(mode: str, folder: Path, *options: str) -> tuple[HarnessRun, set[str], list[str]]:
    orgs = [f"north-{secrets.token_hex(3)}", f"south-{secrets.token_hex(3)}"]
    app = teamspace.Teamspace(mode)
    run = run_against(app.app, _profile(orgs), folder, "suites/isolation", "-k", "test_context", *options)
    return run, set(app._keys.values()), orgs


def test_each_tenant_gets_its_listed_values_and_the_bug_is_found(tmp_path: Path) -> None:
    secure, signed_up, orgs = _run("secure", tmp_path / "secure")
    assert secure.run.exit_code == 0, secure.run.output
    assert signed_up == set(orgs), signed_up  # exactly the listed orgs, one per tenant
    assert "API-TENANT-CONTEXT-TAMPER" in secure.run.controls_with("pass"), secure.run.output
    found, _, _ = _run("trusts_org_header", tmp_path / "bug")
    assert "API-TENANT-CONTEXT-TAMPER" in found.run.controls_with("fail"), found.run.output


def test_more_tenants_than_listed_stops_with_the_fix(tmp_path: Path) -> None:
    run, _, _ = _run("secure", tmp_path / "three", "--tenants", "3")
    assert run.run.exit_code != 0
    assert "provisioning.tenants lists 2 tenant(s) and the run needs more; run with --tenants 2" in run.run.output
