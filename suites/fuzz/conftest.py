"""Fixtures of the fuzz suite: the profile, the schemathesis schema, the suite's own tenants, the campaign.

The suite provisions two tenants of its own instead of using the shared ``tenants``: fuzzing
deletes and rewrites the acting tenant's objects, which would spoil the isolation suite's
baselines when both suites run in one session.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from suites.fuzz.budget import PROFILES, FuzzProfile, run_seed
from suites.fuzz.campaign import Campaign
from suites.fuzz.fuzzer import Fuzzer
from tenantprobe.errors import TenantProbeError
from tenantprobe.plugin import OPTION_FUZZ_PROFILE
from tenantprobe.probe import Probe
from tenantprobe.records import ResultWriter
from tenantprobe.target import SeededTenant, Target

_campaign_key = pytest.StashKey[Campaign]()


def pytest_report_header(config: pytest.Config) -> str:
    return f"tenantprobe fuzz profile: {config.getoption(OPTION_FUZZ_PROFILE)}"


@pytest.fixture(scope="session")
def fuzz_profile(request: pytest.FixtureRequest) -> FuzzProfile:
    return PROFILES[request.config.getoption(OPTION_FUZZ_PROFILE)]


@pytest.fixture(scope="session")
def fuzz_seed(request: pytest.FixtureRequest, fuzz_profile: FuzzProfile) -> int | None:
    forced = request.config.getoption("hypothesis_seed", None)
    return run_seed(fuzz_profile, int(forced) if forced is not None else None)


@pytest.fixture(scope="session")
def campaign(
    request: pytest.FixtureRequest, fuzz_profile: FuzzProfile, fuzz_seed: int | None, results_writer: ResultWriter
) -> Iterator[Campaign]:
    """The run's figures, written as one API-FUZZ-ROBUSTNESS measurement when the session ends."""
    current = Campaign(fuzz_profile.name, fuzz_seed)
    request.config.stash[_campaign_key] = current
    yield current
    if current.total_cases:
        results_writer.write(current.record())


@pytest.fixture(scope="session")
def fuzz_tenants(target: Target, results_writer: ResultWriter) -> list[SeededTenant]:
    """Two tenants of the suite's own, seeded with canaries: the acting one and the victim."""
    seeding = Probe("suites/fuzz::seed", target.client, target.canaries, results_writer)
    try:
        seeded = target.seeded_tenants(2, seeding)
    except TenantProbeError as exc:
        pytest.fail(f"tenants could not be set up: {exc}", pytrace=False)
    seeding.finish()
    return seeded


@pytest.fixture(scope="session")
def api_schema(target: Target) -> Any:
    """The target's OpenAPI document as a schemathesis schema (no schemathesis.toml is consulted)."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    schema = schemathesis.openapi.from_dict(copy.deepcopy(target.api.document), config=SchemathesisConfig())
    schema.config.update(base_url=target.base_url)
    # What the profile skips, and what would destroy the run's identities or the target's data, is never called.
    return schema.exclude(
        func=lambda ctx: ctx.operation.method.upper() + " " + ctx.operation.path in target.api.excluded
    )


@pytest.fixture
def fuzzer(
    target: Target, fuzz_profile: FuzzProfile, campaign: Campaign, probe: Probe, fuzz_tenants: list[SeededTenant]
) -> Iterator[Fuzzer]:
    current = Fuzzer(target, fuzz_profile, campaign, probe)
    for tenant in fuzz_tenants:
        current.adopt(tenant)
    yield current
    current.close()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    current = config.stash.get(_campaign_key, None)
    if current is not None and current.total_cases:
        terminalreporter.write_line(current.summary_line())
