"""Noisy neighbour: a flooder is contained on the secure app; with a seeded fault the SLO check fails.

Three runs at once (to keep the suite short), each with plan limits small enough that a
flood meets them whatever the machine's speed (``TIGHT_LIMITS``):

- the secure app: the flooder gets 429 with Retry-After and quota refusals, counted apart
  from failures; the quiet tenants are never throttled;
- ``rate_limit_global`` (the token bucket keyed by client address): the flood drains every
  tenant's bucket, the quiet tenants get 429s, OPS-RATE-LIMIT-PER-TENANT fails. This run
  lets the scenario launch the reference app itself (``--target ... --faults ...``);
- ``quota_unenforced`` (storage checked against a stale snapshot): the flooder writes past
  its quota, OPS-QUOTA-ENFORCED fails.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_database
from tests.load.conftest import ROOT, TIGHT_LIMITS, LoadRun, pids_option, profile_for, serve, start_popen
from tests.load.test_scenarios import assert_complete_and_consistent

# --min-achieved-ratio 0.5: a quiet tenant of a few seconds' run on a loaded machine may get 8 of
# its 9 arrivals served; these runs prove the machinery and the 429 criteria, not throughput.
NOISY = (
    *("QuietTenant", "Flooder", "-t", "10s", "--tenants", "2", "--tenant-rps", "1.5", "--baseline", "3"),
    *("--flood-users", "4", "--flood-mix", "create=80,list=20", "--seed-objects", "3"),
    *("--min-achieved-ratio", "0.5"),
)


def require_faults(*names: str) -> None:
    """Skip (naming the fault) only when the reference app does not know a seeded fault yet."""
    try:
        from reference_app.faults import REGISTRY
    except ImportError:
        pytest.skip("the reference app has no seeded-fault registry (reference_app/faults.py) yet")
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        pytest.skip(f"the reference app does not know the seeded fault(s) {', '.join(unknown)} yet")


@pytest.fixture(scope="module")
def runs(
    admin_dsn: str, role_passwords: dict[str, str], migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, LoadRun]]:
    require_faults("rate_limit_global", "quota_unenforced")
    base = tmp_path_factory.mktemp("noisy")
    stacks = {
        name: serve(
            new_database(admin_dsn, role_passwords, template=migrated_template),
            base / name / "logs",
            faults,
            TIGHT_LIMITS,
        )
        for name, faults in (("secure", ()), ("quota_unenforced", ("quota_unenforced",)))
    }
    try:
        targets = {
            name: ("--target", str(profile_for(stack, base / name)), "--app-pids", pids_option(stack))
            for name, stack in stacks.items()
        }
        targets["rate_limit_global"] = (
            "--target",
            str(ROOT / "targets" / "reference.yaml"),
            "--faults",
            "rate_limit_global",
        )
        processes: dict[str, tuple[Path, subprocess.Popen[str]]] = {
            name: (base / name / "results", start_popen(base / name / "results", *NOISY, *target, env=TIGHT_LIMITS))
            for name, target in targets.items()
        }
        finished = {}
        for name, (results, process) in processes.items():
            output, _ = process.communicate(timeout=240)
            finished[name] = LoadRun(process.returncode, output[-8000:], results, "noisy-neighbour")
        yield finished
    finally:
        for stack in stacks.values():
            stack.stop()


def test_flooder_is_throttled_and_refused_while_quiet_tenants_are_not(runs: dict[str, LoadRun]) -> None:
    run = runs["secure"]
    document = assert_complete_and_consistent(run)
    quiet, flooder = document["roles"]["quiet"], document["roles"]["flooder"]
    assert quiet["throttled_429"] == 0, run.output
    assert flooder["throttled_429"] > 0
    assert flooder["refused"] > 0, "the flooder met its notes quota"
    assert flooder["phases"]["baseline"]["requests"] == 0, "the flooder waits for the noisy phase"
    row = next(row for row in document["per_tenant"] if row["role"] == "flooder")
    assert row["failures"] == row["errors"] == 0, "a flooder's 429s and quota refusals are expected, not failures"
    assert row["users"] == 4
    assert document["flooder"]["rate_limit_rps"] == 5
    assert document["flooder"]["storage_used_end"] == document["flooder"]["storage_limit"] == 12
    assert run.record("OPS-RATE-LIMIT-PER-TENANT")["status"] == "pass", run.output
    assert run.record("OPS-QUOTA-ENFORCED")["status"] == "pass", run.output
    assert run.record("PERF-NOISY-NEIGHBOUR")["status"] in ("pass", "fail")
    assert "quiet_p95_ratio" in document["metrics"]


def test_global_rate_limit_throttles_quiet_tenants_and_fails_the_check(runs: dict[str, LoadRun]) -> None:
    run = runs["rate_limit_global"]
    document = assert_complete_and_consistent(run)
    assert run.exit_code == 1, run.output  # FAIL: an SLO was violated
    assert document["target"]["faults"] == ["rate_limit_global"]
    assert document["roles"]["quiet"]["throttled_429"] > 0
    record = run.record("OPS-RATE-LIMIT-PER-TENANT")
    assert record["status"] == "fail"
    assert record["measured"]["quiet_throttled_429"] > 0
    assert "quiet_throttled_429" in record["summary"]


def test_unenforced_quota_lets_the_flooder_past_its_storage_and_fails_the_check(runs: dict[str, LoadRun]) -> None:
    run = runs["quota_unenforced"]
    document = assert_complete_and_consistent(run)
    assert run.exit_code == 1, run.output  # FAIL: an SLO was violated
    assert document["flooder"]["storage_used_end"] > document["flooder"]["storage_limit"]
    record = run.record("OPS-QUOTA-ENFORCED")
    assert record["status"] == "fail"
    assert record["measured"]["flooder_storage_over_quota"] > 0
