"""How much to fuzz: the ``ci`` profile (derandomized, bounded) and the ``deep`` one (nightly).

``--fuzz-profile`` picks one. The ci profile is deterministic: the same target gives the same
cases in the same order, so a red CI run is reproducible and a green one is not luck. The deep
profile draws a fresh seed per run (or takes ``--hypothesis-seed``) and records it, so a nightly
finding can be replayed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import hypothesis


@dataclass(frozen=True)
class FuzzProfile:
    name: str
    derandomize: bool
    positive_examples: int  # per tenant operation, schema-valid input
    negative_examples: int  # per tenant operation, schema-violating input
    platform_examples: int  # per platform operation and mode: tenant roles can only be refused there
    scenarios: int  # stateful scenarios per direction (tenant A produces, tenant B replays)
    steps: int  # maximum steps per scenario
    both_directions: bool  # also let the second tenant produce and the first replay
    auth_probes: int  # ignored_auth confirmations per operation (each sends two extra requests)
    shrink_examples: int  # executions a stateless finding may spend on shrinking
    shrink_scenarios: int  # scenarios a stateful finding may spend on shrinking
    stateful_suites: int  # a finding ends a suite; the next one runs with it known

    def settings(self, max_examples: int, *, steps: int | None = None) -> hypothesis.settings:
        """Hypothesis settings for one operation or one state machine.

        No example database (a target's state is not Hypothesis's to remember), no deadline (a
        network round trip is not a slow test) and no health checks (schemathesis' strategies are
        large by design, and it suppresses them for the same reason). Shrinking stays on: a
        finding is recorded as the smallest request that still shows it.
        """
        return hypothesis.settings(
            max_examples=max_examples,
            derandomize=self.derandomize,
            database=None,
            deadline=None,
            phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink),
            suppress_health_check=list(hypothesis.HealthCheck),
            report_multiple_bugs=True,
            stateful_step_count=steps or 50,
            print_blob=False,
        )


PROFILES = {
    "ci": FuzzProfile(
        name="ci",
        derandomize=True,
        positive_examples=6,
        negative_examples=3,
        platform_examples=2,
        scenarios=10,
        steps=6,
        both_directions=False,
        auth_probes=1,
        shrink_examples=20,
        shrink_scenarios=6,
        stateful_suites=2,
    ),
    "deep": FuzzProfile(
        name="deep",
        derandomize=False,
        positive_examples=120,
        negative_examples=60,
        platform_examples=15,
        scenarios=150,
        steps=10,
        both_directions=True,
        auth_probes=5,
        shrink_examples=300,
        shrink_scenarios=60,
        stateful_suites=6,
    ),
}


def run_seed(profile: FuzzProfile, forced: int | None) -> int | None:
    """The seed of a randomized run (recorded with the results); None when derandomized."""
    if profile.derandomize:
        return None
    return forced if forced is not None else random.SystemRandom().getrandbits(32)
