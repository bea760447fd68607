"""The pytest plugin: target selection, tenants with canaries, probes that write result records.

Registered by the root ``conftest.py`` and by the ``pytest11`` entry point under the same
name, so it loads once. Suites declare what they prove with ``@pytest.mark.controls(...)``;
an unknown control id stops the run with the closest valid ids. A check that crashes writes
``error`` records for its controls and a skipped one writes ``not_assessed``: a run never
stays silent about a control it meant to measure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pytest

from tenantprobe.errors import TenantProbeError

GROUP = "tenantprobe"
FUZZ_PROFILES = ("ci", "deep")
MARKER = "controls"
ATTACK_MARKER = "attack"
DEFAULT_PROFILE = Path("targets/reference.yaml")

_target_key = pytest.StashKey[Any]()
_writer_key = pytest.StashKey[Any]()


@dataclass(frozen=True)
class Setting:
    """One plugin setting, named so that it cannot collide with another plugin's options.

    ``--tenantprobe-<name>`` always exists; the short ``alias`` the README shows is added only
    when no other plugin or conftest has it. The same setting comes from the ini file
    (``tenantprobe_<name>``) or the environment (``TENANTPROBE_<NAME>``); the command line wins,
    then the environment, then the ini file, then the default.
    """

    name: str
    alias: str
    help: str
    default: Any
    kind: str = "string"  # string, int, bool, or "choice" (one of ``choices``)
    choices: tuple[str, ...] = ()

    @property
    def option(self) -> str:
        return f"--tenantprobe-{self.name}"

    @property
    def dest(self) -> str:
        return "tenantprobe_" + self.name.replace("-", "_")

    @property
    def env(self) -> str:
        return self.dest.upper()

    @property
    def names(self) -> str:
        """Every way to set it, for messages."""
        return f"{self.alias} ({self.option}, ini {self.dest}, env {self.env})"

    def argparse_extra(self) -> dict[str, Any]:
        if self.kind == "bool":
            return {"action": "store_true"}
        if self.kind == "int":
            return {"type": int}
        return {"choices": self.choices} if self.kind == "choice" else {}

    def convert(self, raw: Any, source: str) -> Any:
        """The value from an ini file or the environment, or a UsageError naming the source and the fix."""
        if self.kind == "bool":
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise pytest.UsageError(f"{source}={raw!r}: expected true or false (1/0, yes/no)")
        if self.kind == "int":
            try:
                return int(raw)
            except ValueError:
                raise pytest.UsageError(f"{source}={raw!r}: expected a whole number") from None
        if self.kind == "choice" and raw not in self.choices:
            raise pytest.UsageError(f"{source}={raw!r}: expected one of {', '.join(self.choices)}")
        return str(raw)


TARGET = Setting("target", "--target", "target profile (YAML); default targets/reference.yaml", None)
TENANTS = Setting("tenants", "--tenants", "tenants to provision and seed (default 3)", 3, "int")
PAIRS = Setting(
    "pairs",
    "--pairs",
    "attacker→victim pairs: 'all', a number to sample (deterministic), or 'auto' (all up to 5 tenants, "
    "then 2 per tenant)",
    "auto",
)
RESULTS = Setting("results-dir", "--results-dir", "directory for result records (default ./results)", "results")
FAULTS = Setting("faults", "--faults", "seeded faults to inject into the launched reference app", "")
ACCEPT_NOT_ASSESSED = Setting(
    "accept-not-assessed",
    "--accept-not-assessed",
    "exit 0 even when a cross-tenant control could not be assessed (the summary still lists it)",
    False,
    "bool",
)
DB = Setting(
    "db",
    "--db",
    "the launched reference app's PostgreSQL: 'embedded' (default), 'container' (an image built from the "
    "embedded binaries) or 'container:IMAGE' (e.g. container:postgres:16)",
    "embedded",
)
CONTROLS = Setting(
    "controls",
    "--controls",
    "run only the checks that measure these catalogue controls (comma-separated ids); the others are "
    "deselected and their controls left out of the run (a control no check declares, measured by every "
    "check's response scan, keeps them all)",
    "",
)
# The fuzz suite's budget. Declared here rather than in suites/fuzz/conftest.py, which pytest
# loads too late to parse options when it runs more than that folder (`pytest suites`).
FUZZ_PROFILE = Setting(
    "fuzz-profile",
    "--fuzz-profile",
    "fuzzing budget of suites/fuzz: 'ci' (derandomized, bounded; default) or 'deep' (nightly)",
    "ci",
    "choice",
    FUZZ_PROFILES,
)
SETTINGS = (TARGET, TENANTS, PAIRS, RESULTS, FAULTS, DB, ACCEPT_NOT_ASSESSED, CONTROLS, FUZZ_PROFILE)
# Names for config.getoption(): the long option, which always exists.
OPTION_TARGET = TARGET.option
OPTION_TENANTS = TENANTS.option
OPTION_PAIRS = PAIRS.option
OPTION_RESULTS = RESULTS.option
OPTION_FAULTS = FAULTS.option
OPTION_FUZZ_PROFILE = FUZZ_PROFILE.option
OPTION_ACCEPT_NOT_ASSESSED = ACCEPT_NOT_ASSESSED.option
OPTION_CONTROLS = CONTROLS.option
OPTION_DB = DB.option


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "tenantprobe: multi-tenant isolation checks")
    for setting in SETTINGS:
        extra = setting.argparse_extra()
        help_text = f"{setting.help} [ini {setting.dest}, env {setting.env}]"
        group.addoption(setting.option, dest=setting.dest, default=None, help=help_text, **extra)
        parser.addini(setting.dest, setting.help, default=None)  # converted (and checked) like the env var
    if not _loaded_by_entry_point():
        _add_aliases(parser)


def _loaded_by_entry_point() -> bool:
    """Whether pytest loads this plugin before any conftest (then aliases wait for the conftests)."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    return any(ep.value == __name__ for ep in entry_points(group="pytest11"))


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser) -> Iterator[None]:
    # The short aliases are added once the conftests have declared their options, so that a
    # user's own --target (or another plugin's) keeps its meaning instead of failing to register.
    yield
    if _loaded_by_entry_point():
        _add_aliases(parser)


def _add_aliases(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP)
    for setting in SETTINGS:
        extra = setting.argparse_extra()
        with contextlib.suppress(ValueError, argparse.ArgumentError):  # taken: --tenantprobe-<name> remains
            group.addoption(setting.alias, dest=setting.dest, default=None, help=f"short for {setting.option}", **extra)


def _resolve_settings(config: pytest.Config) -> None:
    """Fill each setting not given on the command line from the environment, the ini file, the default."""
    for setting in SETTINGS:
        if getattr(config.option, setting.dest, None) not in (None, False):
            continue
        value = setting.default
        ini = config.getini(setting.dest)
        if ini not in (None, ""):
            value = setting.convert(ini, f"ini {setting.dest}")
        if setting.env in os.environ:
            value = setting.convert(os.environ[setting.env], setting.env)
        setattr(config.option, setting.dest, value)


def pytest_configure(config: pytest.Config) -> None:
    from tenantprobe.gaps import GapReport

    _resolve_settings(config)
    config.addinivalue_line("markers", f"{MARKER}(*ids): the catalogue controls a check measures")
    config.addinivalue_line(
        "markers", f"{ATTACK_MARKER}(name): the check's attack class (attack_classes in catalogue.yaml)"
    )
    gaps = GapReport(
        lambda: config.stash.get(_writer_key, None),
        MARKER,
        OPTION_ACCEPT_NOT_ASSESSED,
        lambda: config.stash.get(_target_key, None),
        ACCEPT_NOT_ASSESSED.alias,
    )
    config.pluginmanager.register(gaps, "tenantprobe-gaps")
    if config.getoption(OPTION_TARGET):
        from tenantprobe.profiles import load_profile

        try:
            load_profile(Path(config.getoption(OPTION_TARGET)))
        except TenantProbeError as exc:
            raise pytest.UsageError(str(exc)) from None
    from tenantprobe.stack import database_choice

    try:
        database_choice(config.getoption(OPTION_DB))
    except TenantProbeError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.getoption(OPTION_TENANTS) < 2:
        raise pytest.UsageError(f"{TENANTS.names} must be at least 2: isolation needs a tenant to compare with")
    pairs = config.getoption(OPTION_PAIRS)
    if pairs not in ("auto", "all") and not (pairs.isdigit() and int(pairs) > 0):
        raise pytest.UsageError(f"{PAIRS.names}={pairs!r}: expected 'auto', 'all' or a positive number")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tenantprobe.controls import load_catalogue

    catalogue = load_catalogue()
    for item in items:
        for control_id in _declared_controls(item):
            try:
                catalogue.get(control_id)
            except TenantProbeError as exc:
                raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
            # `--junitxml` writes user properties per test case: CI shows which control a test proves.
            item.user_properties.append(("control_id", control_id))
        attack = _attack_of(item)
        if attack is not None and attack not in catalogue.attack_classes:
            raise pytest.UsageError(
                f"{item.nodeid}: unknown attack class {attack!r}; one of {', '.join(catalogue.attack_classes)}"
            )
    wanted = {control_id.strip() for control_id in config.getoption(OPTION_CONTROLS).split(",") if control_id.strip()}
    if wanted:
        _keep_checks_of(wanted, config, items)


def _keep_checks_of(wanted: set[str], config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--controls``: deselect every check that measures none of ``wanted``, the way ``-k`` does."""
    from tenantprobe.controls import load_catalogue

    catalogue = load_catalogue()
    for control_id in sorted(wanted):
        try:
            catalogue.get(control_id)
        except TenantProbeError as exc:
            raise pytest.UsageError(f"{CONTROLS.alias}: {exc}") from None
    declared = {control_id for item in items for control_id in _declared_controls(item)}
    if wanted - declared:
        return  # no check declares it: the response scans of every check measure it (API-CANARY-ORACLE)
    kept = [item for item in items if wanted & set(_declared_controls(item))]
    deselected = [item for item in items if item not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _profile_path(config: pytest.Config) -> Path:
    option = config.getoption(OPTION_TARGET)
    return Path(option) if option else config.rootpath / DEFAULT_PROFILE


def pytest_report_header(config: pytest.Config) -> list[str]:
    faults = config.getoption(OPTION_FAULTS) or "none"
    return [
        f"tenantprobe: target {_profile_path(config)}, {config.getoption(OPTION_TENANTS)} tenants, "
        f"pairs {config.getoption(OPTION_PAIRS)}, faults {faults}, db {config.getoption(OPTION_DB)}"
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
        opened = Target.open(
            load_profile(_profile_path(config)), faults, log_dir=results_dir / "logs", db=config.getoption(OPTION_DB)
        )
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
        is_reference=lambda name: name in target.api.reference_params,
    )


def _declared_controls(item: pytest.Item) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for marker in item.iter_markers(MARKER) for c in marker.args))


def _attack_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker(ATTACK_MARKER)
    return str(marker.args[0]) if marker is not None and marker.args else None


def _stamp_attack(item: pytest.Item, attack: str | None) -> None:
    writer = item.config.stash.get(_writer_key, None)
    if writer is not None:
        writer.attack = attack


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Once the check's fixtures exist (seeding is no attack), its records carry its attack class."""
    try:
        return (yield)
    finally:
        _stamp_attack(item, _attack_of(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    finally:
        _stamp_attack(item, None)


@runtime_checkable
class _Finishable(Protocol):
    """A check's probe (``probe``, ``kube_probe``): attempts in, records out at :meth:`finish`."""

    @property
    def unfinished(self) -> bool: ...

    def finish(self) -> None: ...


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A check that returns has its probes finished here, as part of its outcome: a finding fails it, and a
    declared control it judged nothing for skips it as not assessed; it never passes unfinished."""
    __tracebackhide__ = True
    result = yield
    for fixture in getattr(item, "funcargs", {}).values():
        if isinstance(fixture, _Finishable) and fixture.unfinished:
            fixture.finish()
    return result


@pytest.fixture
def probe(request: pytest.FixtureRequest, target: Any, results_writer: Any) -> Iterator[Any]:
    """Collects this check's attempts; the plugin finishes it when the check returns (``probe.finish()``
    earlier writes the records at that point, as a check that asserts after them needs)."""
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


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """How many requests the checks sent (provisioning's own calls aside): the cost of a run, for benchmarks."""
    target = config.stash.get(_target_key, None)
    if target is not None and target.client.sent:
        terminalreporter.write_line(f"tenantprobe: {target.client.sent} requests sent to the target")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Measurements the harness made along the way: tenant provisioning time, request to usable tenant."""
    target = session.config.stash.get(_target_key, None)
    writer = session.config.stash.get(_writer_key, None)
    if target is None or writer is None or not target.provisioning_seconds:
        return
    from tenantprobe.controls import load_catalogue
    from tenantprobe.load.stats import percentile
    from tenantprobe.records import ResultRecord, Status

    control = load_catalogue().get("OPS-PROVISIONING-TIME")
    samples = sorted(target.provisioning_seconds)
    p95 = percentile(samples, 95)
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
