"""The pytest plugin: target selection, tenants with canaries, probes that write result records.

Registered by the root ``conftest.py`` and by the ``pytest11`` entry point under the same
name, so it loads once. Suites declare what they prove with ``@pytest.mark.controls(...)``;
an unknown control id stops the run with the closest valid ids. A check that crashes writes
``error`` records for its controls and a skipped one writes ``not_assessed``: a run never
stays silent about a control it meant to measure.
"""

from __future__ import annotations

import contextlib
import random
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantprobe.errors import TenantProbeError

GROUP = "tenantprobe"
OPTION_TARGET = "--target"
OPTION_TENANTS = "--tenants"
OPTION_PAIRS = "--pairs"
OPTION_RESULTS = "--results-dir"
OPTION_FAULTS = "--faults"
OPTION_FUZZ_PROFILE = "--fuzz-profile"
OPTION_ACCEPT_NOT_ASSESSED = "--accept-not-assessed"
FUZZ_PROFILES = ("ci", "deep")
MARKER = "controls"
DEFAULT_PROFILE = Path("targets/reference.yaml")

_target_key = pytest.StashKey[Any]()
_writer_key = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "tenantprobe: multi-tenant isolation checks")
    group.addoption(OPTION_TARGET, default=None, help="target profile (YAML); default targets/reference.yaml")
    group.addoption(OPTION_TENANTS, type=int, default=3, help="tenants to provision and seed (default 3)")
    group.addoption(
        OPTION_PAIRS,
        default="auto",
        help="attacker→victim pairs: 'all', a number to sample (deterministic), or 'auto' (all up to 5 tenants, "
        "then 2 per tenant)",
    )
    group.addoption(OPTION_RESULTS, default="results", help="directory for result records (default ./results)")
    group.addoption(OPTION_FAULTS, default="", help="seeded faults to inject into the launched reference app")
    group.addoption(
        OPTION_ACCEPT_NOT_ASSESSED,
        action="store_true",
        help="exit 0 even when a cross-tenant control could not be assessed (the summary still lists it)",
    )
    # The fuzz suite's budget. Declared here rather than in suites/fuzz/conftest.py, which pytest
    # loads too late to parse options when it runs more than that folder (`pytest suites`).
    group.addoption(
        OPTION_FUZZ_PROFILE,
        choices=FUZZ_PROFILES,
        default="ci",
        help="fuzzing budget of suites/fuzz: 'ci' (derandomized, bounded; default) or 'deep' (nightly)",
    )


def pytest_configure(config: pytest.Config) -> None:
    from tenantprobe.gaps import GapReport

    config.addinivalue_line("markers", f"{MARKER}(*ids): the catalogue controls a check measures")
    gaps = GapReport(
        lambda: config.stash.get(_writer_key, None),
        MARKER,
        OPTION_ACCEPT_NOT_ASSESSED,
        lambda: config.stash.get(_target_key, None),
    )
    config.pluginmanager.register(gaps, "tenantprobe-gaps")
    if config.getoption(OPTION_TARGET):
        from tenantprobe.profiles import load_profile

        try:
            load_profile(Path(config.getoption(OPTION_TARGET)))
        except TenantProbeError as exc:
            raise pytest.UsageError(str(exc)) from None
    if config.getoption(OPTION_TENANTS) < 2:
        raise pytest.UsageError(f"{OPTION_TENANTS} must be at least 2: isolation needs a tenant to compare with")
    pairs = config.getoption(OPTION_PAIRS)
    if pairs not in ("auto", "all") and not (pairs.isdigit() and int(pairs) > 0):
        raise pytest.UsageError(f"{OPTION_PAIRS}={pairs!r}: expected 'auto', 'all' or a positive number")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tenantprobe.controls import load_catalogue

    catalogue = load_catalogue()
    for item in items:
        for marker in item.iter_markers(MARKER):
            for control_id in marker.args:
                try:
                    catalogue.get(control_id)
                except TenantProbeError as exc:
                    raise pytest.UsageError(f"{item.nodeid}: {exc}") from None


def _profile_path(config: pytest.Config) -> Path:
    option = config.getoption(OPTION_TARGET)
    return Path(option) if option else config.rootpath / DEFAULT_PROFILE


def pytest_report_header(config: pytest.Config) -> list[str]:
    faults = config.getoption(OPTION_FAULTS) or "none"
    return [
        f"tenantprobe: target {_profile_path(config)}, {config.getoption(OPTION_TENANTS)} tenants, "
        f"pairs {config.getoption(OPTION_PAIRS)}, faults {faults}"
    ]


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, results_writer: Any) -> Iterator[Any]:
    """The target of the run (started for the session when its profile says ``launch``)."""
    from tenantprobe.profiles import load_profile
    from tenantprobe.target import Target

    config = request.config
    faults = tuple(f.strip() for f in config.getoption(OPTION_FAULTS).split(",") if f.strip())
    results_dir = Path(config.getoption(OPTION_RESULTS))
    try:
        opened = Target.open(load_profile(_profile_path(config)), faults, log_dir=results_dir / "logs")
    except TenantProbeError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_target_key] = opened
    results_writer.target = opened.identity
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def results_writer(request: pytest.FixtureRequest) -> Any:
    """Where this run's result records go (``--results-dir``), stamped with the run id (``TENANTPROBE_RUN_ID``)."""
    from tenantprobe.records import ResultWriter

    writer = ResultWriter(Path(request.config.getoption(OPTION_RESULTS)), "tenantprobe")
    request.config.stash[_writer_key] = writer
    return writer


def _new_probe(check_id: str, target: Any, writer: Any, controls: tuple[str, ...] = ()) -> Any:
    from tenantprobe.probe import Probe

    # Looked up at each attempt: a probe that never attempts anything must not need the OpenAPI document.
    return Probe(
        check_id,
        target.client,
        target.canaries,
        writer,
        controls,
        observer=lambda *attempt: target.coverage(*attempt),
        skip_observer=lambda operation, why: target.coverage.skipped(operation, why),
    )


def _declared_controls(item: pytest.Item) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for marker in item.iter_markers(MARKER) for c in marker.args))


@pytest.fixture
def probe(request: pytest.FixtureRequest, target: Any, results_writer: Any) -> Iterator[Any]:
    """Collects this check's attempts; call ``probe.finish()`` at the end of the check."""
    from tenantprobe.outcomes import NotAssessed

    current = _new_probe(request.node.nodeid, target, results_writer, _declared_controls(request.node))
    yield current
    if current.attempts or current.not_assessed_reasons:
        # The check stopped early: keep what it established, without masking its own error.
        with contextlib.suppress(AssertionError, NotAssessed):
            current.finish()


@pytest.fixture(scope="session")
def tenants(request: pytest.FixtureRequest, target: Any, results_writer: Any) -> list[Any]:
    """``--tenants`` tenants, provisioned and seeded through the API with canary data."""
    count = request.config.getoption(OPTION_TENANTS)
    seeding = _new_probe("tenantprobe::seed", target, results_writer)
    try:
        seeded: list[Any] = target.seeded_tenants(count, seeding)
    except TenantProbeError as exc:
        # Every check that needs tenants errors with this one message (error records, never a pass).
        pytest.fail(f"tenants could not be set up: {exc}", pytrace=False)
    seeding.finish()
    return seeded


@pytest.fixture(scope="session")
def pairs(request: pytest.FixtureRequest, tenants: list[Any]) -> list[tuple[Any, Any]]:
    """Ordered (attacker, victim) pairs: all, or a deterministic sample that grows linearly."""
    every = [(a, v) for a in tenants for v in tenants if a is not v]
    option = request.config.getoption(OPTION_PAIRS)
    if option == "all" or (option == "auto" and len(tenants) <= 5):
        return every
    size = 2 * len(tenants) if option == "auto" else int(option)
    # Each tenant attacks its successor first, so every tenant is both attacker and victim.
    ring = [(tenants[i], tenants[(i + 1) % len(tenants)]) for i in range(len(tenants))]
    rest = [pair for pair in every if pair not in ring]
    random.Random(20261126).shuffle(rest)
    return (ring + rest)[:size]


# ---------------------------------------------------------------------- records for non-results
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """A check that crashed or was skipped still speaks for its controls: ``error`` or ``not_assessed``."""
    if call.when == "teardown" or call.excinfo is None:
        return
    markers = [m for m in item.iter_markers(MARKER)]
    writer = item.config.stash.get(_writer_key, None)
    if not markers or writer is None:
        return
    from tenantprobe.controls import load_catalogue
    from tenantprobe.outcomes import NotAssessed
    from tenantprobe.records import ResultRecord, Status

    if call.excinfo.errisinstance(NotAssessed):
        return  # the probe wrote its not_assessed records, with the reasons
    if call.excinfo.errisinstance(pytest.skip.Exception):
        status, reason = Status.NOT_ASSESSED, str(getattr(call.excinfo.value, "msg", call.excinfo.value))
    elif call.excinfo.errisinstance(AssertionError) and call.when == "call":
        return  # a finding: the probe already wrote fail records
    else:
        status, reason = Status.ERROR, f"{call.excinfo.typename}: {call.excinfo.value}"[:1000]
    catalogue = load_catalogue()
    for marker in markers:
        for control_id in marker.args:
            writer.write(
                ResultRecord(
                    control_id=control_id,
                    check_id=item.nodeid,
                    status=status,
                    severity=catalogue.get(control_id).severity,
                    reason=reason,
                )
            )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Measurements the harness made along the way: tenant provisioning time, request to usable tenant."""
    target = session.config.stash.get(_target_key, None)
    writer = session.config.stash.get(_writer_key, None)
    if target is None or writer is None or not target.provisioning_seconds:
        return
    from tenantprobe.controls import load_catalogue
    from tenantprobe.records import ResultRecord, Status

    control = load_catalogue().get("OPS-PROVISIONING-TIME")
    samples = sorted(target.provisioning_seconds)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    writer.write(
        ResultRecord(
            control_id=control.id,
            check_id="tenantprobe::provisioning",
            severity=control.severity,
            status=Status.PASS if control.measure.satisfied_by(p95) else Status.FAIL,
            summary=f"p95 tenant provisioning {p95:.3f} s over {len(samples)} tenants, from the request until "
            "the tenant's first authenticated read succeeded",
            measured={
                "provisioning_seconds_p95": p95,
                "provisioning_seconds_median": statistics.median(samples),
                "provisioning_seconds_max": samples[-1],
                "samples": len(samples),
            },
        )
    )
