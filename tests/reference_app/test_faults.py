"""The seeded-fault registry: names, documentation, validation at start-up."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reference_app import faults
from reference_app.auth import generate_private_key_pem, tokens
from reference_app.config import Settings
from reference_app.dal import notes
from reference_app.main import create_app

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


def test_a_process_imports_only_the_faults_it_turns_on() -> None:
    """Fault modules import the API's routes: a worker that loaded all of them paid 2 s of CPU for nothing."""
    script = (
        "import sys; from reference_app import faults; on = faults.active(); "
        "print(sorted(m.rpartition('.')[2] for m in sys.modules if m.startswith('reference_app.seeded_faults.')), "
        "'fastapi' in sys.modules)"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, faults.ENV: "job_context_lost"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.split() == ["['job_context_lost']", "False"]


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


# The secure code reads as if faults did not exist: only the start-up wiring names them.
WIRING = {"faults.py", "main.py", "__main__.py", "internal/service.py"}


def _secure_sources() -> dict[str, str]:
    root = Path(faults.__file__).parent
    return {
        str(path.relative_to(root)): path.read_text()
        for path in root.rglob("*.py")
        if "seeded_faults" not in path.relative_to(root).parts
    }


def test_secure_code_names_no_fault_outside_the_start_up_wiring() -> None:
    naming = {name for name, text in _secure_sources().items() if re.search(r"\bfaults\.", text)}
    assert naming <= WIRING, naming - WIRING


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_fault_lives_in_its_module_and_takes_the_place_of_named_code(name: str) -> None:
    fault = faults.REGISTRY[name]
    assert fault.code.startswith(f"`seeded_faults/{name}.py` for ")
    assert fault.code in faults.table()
    for secure, faulty in fault.replaces.items():
        assert list(inspect.signature(faulty).parameters) == list(inspect.signature(secure).parameters), secure


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_replaced_code_is_reached_only_through_its_owner(name: str) -> None:
    """A secure function imported under another name elsewhere would keep running when its fault is seeded."""
    for secure in [*faults.REGISTRY[name].replaces, *faults.REGISTRY[name].wraps]:
        holders = {
            f"{module_name}.{attribute}"
            for module_name, module in list(sys.modules.items())
            if module_name.startswith("reference_app") and not module_name.startswith("reference_app.seeded_faults")
            for attribute, value in vars(module).items()
            if value is secure
        }
        assert holders <= {f"{secure.__module__}.{secure.__qualname__}"}, holders


def test_installed_puts_the_secure_code_back() -> None:
    secure_get, secure_options = notes.get, tokens.decode_options()
    with faults.installed("dal_unscoped_get", "jwt_skip_audience", "jwt_expired_accepted"):
        assert notes.get is not secure_get
        assert tokens.decode_options() == {**secure_options, "verify_aud": False, "verify_exp": False}
    assert notes.get is secure_get
    assert tokens.decode_options() == secure_options


def test_two_faults_replacing_the_same_code_are_refused_by_name() -> None:
    one = faults.Fault("one", "api", "API-X-Y", "doc", replaces={notes.get: notes.exists})
    two = faults.Fault("two", "api", "API-X-Y", "doc", replaces={notes.get: notes.count})
    with pytest.raises(faults.FaultConfigError, match=r"one and two both replace dal\.notes\.get"):
        faults.check_disjoint([one, two])
    assert faults.parse(",".join(REQUIRED)), "every fault of the catalogue can be seeded at once"


def test_a_faulty_app_documents_the_same_operations_as_the_secure_one(tmp_path: Path) -> None:
    """Route handlers a fault stands in for keep their path, method and documentation; only the two faults
    whose bug is in the shape (a body that takes ``tenant_id``, an answer with a token) change the document."""
    (tmp_path / "key.pem").write_bytes(generate_private_key_pem())
    dsn = "postgresql://unused@127.0.0.1:1/x"  # never connected to
    settings = Settings(database_url=dsn, platform_database_url=dsn, jwt_private_key_file=tmp_path / "key.pem")
    secure = create_app(settings).openapi()["paths"]
    with faults.installed(*REQUIRED):
        faulty = create_app(settings).openapi()["paths"]
    assert create_app(settings).openapi()["paths"] == secure, "installed() puts the secure routes back"
    operations = {(path, method): op for path, item in secure.items() for method, op in item.items()}
    assert operations.keys() == {(path, method) for path, item in faulty.items() for method in item}
    changed = {op["operationId"] for (path, method), op in operations.items() if faulty[path][method] != op}
    assert changed == {"createNote", "getMe"}
