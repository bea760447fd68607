"""Every operation, fuzzed as every role of one tenant, with the other tenant's ids and tenant in the mix."""

from __future__ import annotations

from typing import Any

import pytest

from suites.fuzz.fuzzer import Fuzzer
from suites.fuzz.oracles import CONTROLS
from suites.fuzz.stateless import fuzz_every_operation
from tenantprobe.probe import Probe
from tenantprobe.target import SeededTenant


@pytest.mark.attack("fuzzing")
@pytest.mark.controls(*CONTROLS)
def test_every_operation_as_every_role_survives_fuzzing(
    fuzzer: Fuzzer, api_schema: Any, fuzz_tenants: list[SeededTenant], fuzz_seed: int | None, probe: Probe
) -> None:
    own, victim = fuzz_tenants
    fuzz_every_operation(fuzzer, api_schema, own, victim, fuzz_seed)
