"""The seeded-fault registry: names, documentation, validation at start-up."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reference_app import faults

REQUIRED = {
    "rls_disabled", "app_role_bypassrls", "dal_unscoped_get", "list_unfiltered", "search_unscoped", "idor_update",
    "idor_delete", "mass_assignment_tenant", "nested_parent_unchecked", "trust_tenant_header", "jwt_alg_none",
    "jwt_skip_audience", "jwt_expired_accepted", "session_set_bleed", "cache_key_without_tenant", "job_context_lost",
    "internal_service_trusts_caller", "error_detail_leak", "existence_oracle", "count_leak", "quota_unenforced",
    "rate_limit_global", "analytics_row_level", "deprovision_orphans", "role_escalation",
    "metrics_tenant_from_header", "jwt_signature_cache", "etag_precheck_unscoped", "member_email_unique_global",
    "me_exposes_service_token",
    "merge_sources_unscoped", "duplicate_unscoped", "append_unscoped",
    "comment_feed_filter_unscoped", "cursor_names_tenant", "recent_notes_keyed_by_user",
}  # fmt: skip
LAYER_PREFIX = {"data": ("DATA-",), "api": ("API-", "AUTH-"), "application": ("APP-",), "operations": ("OPS-",)}


def test_registry_holds_every_fault_of_the_issue() -> None:
    assert set(faults.REGISTRY) == REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_fault_names_its_bug_its_control_and_where_it_lives(name: str) -> None:
    fault = faults.REGISTRY[name]
    assert fault.control.startswith(LAYER_PREFIX[fault.layer]), fault.control
    assert re.fullmatch(r"[A-Z]+(-[A-Z]+)+", fault.control)
    assert fault.control in fault.doc
    assert "Realised" in fault.doc
    assert len(fault.summary) > 30


def test_no_fault_is_on_by_default() -> None:
    assert os.environ.get(faults.ENV) is None
    assert faults.active() == ()


def test_unknown_fault_names_the_valid_ones_and_a_likely_match() -> None:
    with pytest.raises(faults.FaultConfigError) as error:
        faults.parse("list_unfiltred, jwt_alg_none")
    message = str(error.value)
    assert "'list_unfiltred' (did you mean 'list_unfiltered'?)" in message
    assert all(name in message for name in REQUIRED)
    assert faults.parse("jwt_alg_none,jwt_alg_none, ") == (faults.jwt_alg_none,)


@pytest.mark.parametrize("command", ["serve", "worker", "internal", "setup"])
def test_every_process_refuses_to_start_with_an_unknown_fault(command: str) -> None:
    env = {**os.environ, faults.ENV: "no_such_fault", "DATABASE_URL": "postgresql://unused@127.0.0.1:1/x"}
    started = subprocess.run(
        [sys.executable, "-m", "reference_app", command], env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode != 0
    assert "unknown fault 'no_such_fault'" in started.stderr
    assert "rls_disabled" in started.stderr


def test_faults_md_documents_the_registry() -> None:
    text = (Path(faults.__file__).parent / "FAULTS.md").read_text()
    assert faults.table() in text, (
        "regenerate the table: python -c 'from reference_app import faults; print(faults.table())'"
    )
