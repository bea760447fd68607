"""Run the isolation suite the way a user does against small target apps, all scenarios two at a time.

Each scenario serves one app (``tests/targets/``) in one mode on loopback, writes the profile a
user would write, and runs ``pytest suites/isolation --target <profile>`` as a subprocess. The
runs are independent, so the session fixture starts them together and the tests only read them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.detection.conftest import ROOT, SuiteRun, run_suite
from tests.targets import helpdesk, notebook, shelf, teamspace
from tests.targets.orgboard import app as orgboard
from tests.targets.serve import serving

SUITE = "suites/isolation"
FOOLING = ("refuse_tokens", "rate_limited", "reject_bodies", "server_error_writes", "redirects")
GATES = {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE", "API-LIST-FILTER", "API-TENANT-CONTEXT-TAMPER"}
USER_STATE = "APP-USER-STATE-SCOPE"


@dataclass(frozen=True)
class Scenario:
    app: Callable[[], Any]  # a fresh app instance per run
    profile: dict[str, Any]
    options: tuple[str, ...] = ()


def app_of(kind: Callable[[str], Any], mode: str) -> Any:
    """A fresh instance of a test app in ``mode``: its WSGI or ASGI callable."""
    return kind(mode).app


ORGBOARD_BUGS = {
    "org_membership_not_checked": "test_foreign_reads_look_like_missing",
    "project_not_in_org": "test_nested_resources_check_the_parent",
    "tasks_not_filtered": "test_collections_show_only_own_objects",
}
NOTHING_TO_ATTACK = {**helpdesk.profile(""), "skip_operations": ["POST /api/tickets"]}
SCENARIOS: dict[str, Scenario] = {
    **{
        f"helpdesk:{mode}": Scenario(partial(app_of, helpdesk.Helpdesk, mode), helpdesk.profile(""))
        for mode in ("secure", "integer_ids", "no_id", "update_leak", *FOOLING)
    },
    # Bugs of the attack classes added last, in the helpdesk's idiom, each against the checks of its control.
    "helpdesk:cursor_trusts_company": Scenario(
        partial(app_of, helpdesk.Helpdesk, "cursor_trusts_company"),
        helpdesk.profile(""),
        ("--controls", "API-LIST-FILTER"),
    ),
    "helpdesk:jwt": Scenario(
        partial(app_of, helpdesk.Helpdesk, "jwt"),
        helpdesk.profile("", "jwt"),
        ("--controls", ",".join(sorted({*GATES, USER_STATE}))),
    ),
    "helpdesk:recent_by_user": Scenario(
        partial(app_of, helpdesk.Helpdesk, "recent_by_user"),
        helpdesk.profile("", "recent_by_user"),
        ("--controls", USER_STATE),
    ),
    "helpdesk:gap": Scenario(partial(app_of, helpdesk.Helpdesk, "secure"), NOTHING_TO_ATTACK),
    "helpdesk:gap-accepted": Scenario(
        partial(app_of, helpdesk.Helpdesk, "secure"), NOTHING_TO_ATTACK, ("--accept-not-assessed",)
    ),
    **{
        f"notebook:{mode}": Scenario(partial(app_of, notebook.Notebook, mode), notebook.profile(""))
        for mode in notebook.MODES
    },
    **{
        f"teamspace:{mode}": Scenario(partial(app_of, teamspace.Teamspace, mode), teamspace.profile(""))
        for mode in teamspace.MODES
    },
    # The full suite on the secure build (-v: the whole coverage table); each bug against the check that names it.
    "orgboard:secure": Scenario(partial(app_of, orgboard.Orgboard, "secure"), orgboard.profile(""), ("-v",)),
    **{
        f"orgboard:{mode}": Scenario(partial(app_of, orgboard.Orgboard, mode), orgboard.profile(""), ("-k", check))
        for mode, check in ORGBOARD_BUGS.items()
    },
    # The tenant in the URL: a path prefix the document omits, or a subdomain (a Host header on loopback).
    **{
        f"shelf:{routing}:{mode}": Scenario(
            partial(app_of, partial(shelf.Shelf, routing=routing), mode),
            shelf.profile("", routing),
            ("-k", "test_tenant_route or test_cross_tenant" if mode == "secure" else "test_tenant_route"),
        )
        for routing in shelf.ROUTINGS
        for mode in shelf.MODES
    },
}


@dataclass(frozen=True)
class HarnessRun:
    run: SuiteRun
    folder: Path

    def report_verdict(self) -> tuple[int, str]:
        """``tenantprobe report`` over this run's results: (exit code, verdict)."""
        out = self.folder / "report"
        completed = subprocess.run(
            [
                Path(sys.executable).parent / "tenantprobe",
                "report",
                "--results",
                str(self.folder / "results"),
                "--out",
                str(out),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        report = out / "report.json"
        verdict = json.loads(report.read_text())["verdict"]["status"] if report.exists() else "none"
        return completed.returncode, verdict


def run_against(app: Any, profile: dict[str, Any], folder: Path, suite: str = SUITE, *options: str) -> HarnessRun:
    """``app`` served on loopback, the profile a user would write for it, ``suite`` run against it."""
    folder.mkdir(parents=True, exist_ok=True)
    with serving(app) as base_url:
        path = folder / "target.yaml"
        path.write_text(yaml.safe_dump({**profile, "base_url": base_url}))
        run = run_suite(suite, folder / "results", "--target", str(path), "--tenants", "2", "-rfE", *options)
    return HarnessRun(run, folder)


def mode_runs(kind: Callable[[str], Any], profile: dict[str, Any], runs: dict[str, tuple[str, ...]], name: str) -> Any:
    """A module fixture ``name``: the isolation suite against each mode of ``kind`` (with that mode's pytest
    options), two runs at a time, as ``{mode: HarnessRun}``."""

    @pytest.fixture(scope="module", name=name)
    def runs_by_mode(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HarnessRun]:
        root = tmp_path_factory.mktemp(name)

        def attack_mode(mode: str) -> HarnessRun:  # the app is made in the thread that serves it
            return run_against(app_of(kind, mode), profile, root / mode, SUITE, *runs[mode])

        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {mode: pool.submit(attack_mode, mode) for mode in runs}
            return {mode: future.result() for mode, future in futures.items()}

    return runs_by_mode


def assert_clean(run: SuiteRun, judged: set[str]) -> None:
    """A secure build's run: exit 0, no control failed, and every control of ``judged`` passed (not skipped)."""
    __tracebackhide__ = True
    assert run.exit_code == 0, run.output
    assert run.controls_with("fail") == set(), run.output
    assert run.controls_with("pass") >= judged, run.output


def failed_summaries(run: HarnessRun, control: str) -> list[str]:
    """The summaries of the run's failed records of ``control``."""
    return [r["summary"] for r in run.run.records if r["control_id"] == control and r["status"] == "fail"]


def attack(scenario: Scenario, folder: Path) -> HarnessRun:
    """The scenario's app served on loopback, its profile written, the isolation suite run against it."""
    return run_against(scenario.app(), scenario.profile, folder, SUITE, *scenario.options)


SESSION_TIMEOUT_SECONDS = 1200  # every scenario's run, two at a time, paid by the first test that asks


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test to use ``harness_runs`` waits for all the runs: the default per-test timeout is too short."""
    for item in items:
        if "harness_runs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(SESSION_TIMEOUT_SECONDS))


@pytest.fixture(scope="session")
def harness_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HarnessRun]:
    root = tmp_path_factory.mktemp("harness")
    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(max_workers=2) as pool:
        patch.setenv(helpdesk.JWT_SECRET_ENV, helpdesk.JWT_SECRET)  # the single sign-on profile's auth.key_env
        futures = {
            name: pool.submit(attack, scenario, root / name.replace(":", "-")) for name, scenario in SCENARIOS.items()
        }
        return {name: future.result() for name, future in futures.items()}


# ---------------------------------------------------------------------- targets that misbehave on the wire
# The cross-tenant checks suffice to show what a misbehaving answer does to a judgement, at a third of the cost.
CROSS_TENANT = "suites/isolation/test_cross_tenant.py"
WIRE_LIMITS = {"max_body_bytes": 1024 * 1024, "request_timeout_seconds": 0.5}
SKIPPED = ["PUT /api/tickets/{ticket_id}", "DELETE /api/tickets/*"]
CRASHING = ("crash_foreign", "reset_foreign")


@dataclass(frozen=True)
class WireRun:
    """A run against a misbehaving helpdesk, with what the helpdesk and an off-origin decoy received."""

    found: HarnessRun
    hits: list[str]
    decoy_hits: list[str]


def misbehave(name: str, folder: Path) -> WireRun:
    """``name`` is a helpdesk mode, or ``skip``: the secure helpdesk with its writes skipped by the profile."""
    decoy = helpdesk.Helpdesk("secure")  # another origin: a redirect may name it, nothing may reach it
    with serving(decoy.app) as decoy_url:
        mode = "secure" if name == "skip" else name
        app = helpdesk.Helpdesk(mode, offsite=decoy_url)
        profile = {**helpdesk.profile(""), **WIRE_LIMITS}
        if name == "skip":
            profile["skip_operations"] = SKIPPED
        found = run_against(app.app, profile, folder, CROSS_TENANT)
    return WireRun(found, app.hits, decoy.hits)


@pytest.fixture(scope="session")
def wire_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WireRun]:
    root = tmp_path_factory.mktemp("wire")
    # The slow drip first: its run is mostly waiting for timeouts, which the other runs overlap.
    names = sorted(["skip", *helpdesk.MISBEHAVING, *CRASHING], key=lambda name: name != "slow_drip")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(misbehave, name, root / name) for name in names}
        return {name: future.result() for name, future in futures.items()}
