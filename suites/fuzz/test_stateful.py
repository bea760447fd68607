"""Linked call sequences of one tenant, each step replayed by another tenant."""

from __future__ import annotations

from typing import Any

import pytest

from suites.fuzz.fuzzer import Fuzzer
from suites.fuzz.oracles import CONTROLS, MASS_ASSIGNMENT
from suites.fuzz.stateful import fuzz_sequences
from tenantprobe.probe import Probe
from tenantprobe.target import SeededTenant


@pytest.mark.attack("fuzzing")
@pytest.mark.controls(*(c for c in CONTROLS if c != MASS_ASSIGNMENT))
def test_linked_sequences_replayed_by_another_tenant_leak_nothing(
    fuzzer: Fuzzer, api_schema: Any, fuzz_tenants: list[SeededTenant], fuzz_seed: int | None, probe: Probe
) -> None:
    if fuzzer.target.profile.provisioning.kind == "fixed":
        pytest.skip(
            "stateful fuzzing gives every scenario a fresh tenant, and provisioning.kind is 'fixed': set "
            "provisioning.kind: admin_endpoint (with provisioning.path) in the target profile to assess it"
        )
    fuzz_sequences(fuzzer, api_schema, fuzz_tenants, fuzz_seed)
