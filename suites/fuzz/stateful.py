"""Stateful fuzzing: linked call sequences by one tenant, replayed step by step by another.

schemathesis builds a state machine from the OpenAPI links (declared, or inferred from the
schemas and path parameters). Each scenario runs as a tenant provisioned for that scenario
alone, so a scenario starts from the same state every time it runs: that is what lets
Hypothesis shrink a failing sequence against a live, stateful server (with a shared tenant,
the replays diverge and Hypothesis gives up). Every step whose path carries ids that this
tenant's calls created is replayed by a second tenant (a write just before the tenant's own,
a read just after it): any success, changed object or foreign canary is a leak, and a refusal
must look like the answer for a missing id. Every collection read is replayed too, since it
must show the second tenant none of the first's ids.
"""

from __future__ import annotations

from typing import Any

import hypothesis
from schemathesis import BaseSchema, Response

from suites.fuzz.aliases import AnyCase
from suites.fuzz.exchanges import FuzzExchange
from suites.fuzz.fuzzer import SAFE_METHODS, Fuzzer
from suites.fuzz.oracles import Verdict
from suites.fuzz.shrinking import Shrinking, quietly, record_outcome
from tenantprobe.probe import Actor
from tenantprobe.target import SeededTenant

HISTORY = 4  # earlier steps kept as evidence of a failing one


def tenant_schema(schema: BaseSchema, fuzzer: Fuzzer) -> BaseSchema:
    """Platform operations answer tenants with 403 only: sequences through them go nowhere."""
    return schema.exclude(func=lambda ctx: fuzzer.target.is_platform_operation(ctx.operation.path))


def replay_machine(
    schema: BaseSchema, fuzzer: Fuzzer, replayer: SeededTenant, shrinking: Shrinking, known: set[tuple[str, str]]
) -> type[Any]:
    target = fuzzer.target
    other = target.actor(replayer.ref, target.profile.highest_role)
    base: type[Any] = schema.as_state_machine()

    class CrossTenantReplay(base):  # type: ignore[misc]
        def setup(self) -> None:
            shrinking.admit()
            super().setup()
            self.tenant = target.provision()
            fuzzer.campaign.scenarios += 1
            self.actor: Actor = target.actor(self.tenant, target.profile.highest_role)
            self.history: list[FuzzExchange] = []
            self.exchange: FuzzExchange | None = None
            self.early = Verdict()

        def teardown(self) -> None:
            if target.profile.provisioning.deprovision_path is not None:
                target.lifecycle("deprovision", self.tenant)
            super().teardown()

        def call(self, case: AnyCase, **kwargs: Any) -> Response:
            # A write is replayed before the tenant's own: the other tenant must meet the object intact.
            self.early = Verdict() if case.method.upper() in SAFE_METHODS else self.replay(case)
            response, self.exchange = fuzzer.send(case, self.actor)
            return response

        def validate_response(self, response: Response, case: AnyCase, *args: Any, **kwargs: Any) -> None:
            assert self.exchange is not None
            exchange, self.exchange = self.exchange, None
            verdict = fuzzer.judge(case, response, exchange)
            fuzzer.remember(exchange)
            # A read is replayed after the tenant's own: a cache it filled must not answer the other tenant.
            verdict.extend(self.replay(case) if case.method.upper() in SAFE_METHODS else self.early)
            verdict.history = self.history[-HISTORY:]
            verdict.operation = case.operation.label
            self.history.append(exchange)
            fuzzer.campaign.cases["stateful"] += 1
            fuzzer.record_passes(verdict)
            # A finding already recorded by an earlier suite does not stop this one again.
            verdict.findings = [f for f in verdict.findings if (f.control, verdict.operation) not in known]
            if verdict.findings:
                raise shrinking.fail(verdict)

        def replay(self, case: AnyCase) -> Verdict:
            """The request as the other tenant: with ids this tenant created in its path, or a collection read."""
            produced = {
                name: str(value)
                for name, value in case.path_parameters.items()
                if fuzzer.provenance.owners.get(str(value).lower()) == self.tenant.slug
            }
            if produced:
                verdict, exchange = fuzzer.attack(case, other, self.actor, produced, case.formatted_path)
            elif case.method.upper() in SAFE_METHODS and not case.path_parameters:
                verdict, exchange = fuzzer.plain(case, other)
            else:
                return Verdict()
            fuzzer.remember(exchange)
            return verdict

    return CrossTenantReplay


def fuzz_sequences(fuzzer: Fuzzer, schema: BaseSchema, tenants: list[SeededTenant], seed: int | None) -> None:
    """Suites of scenarios per direction. A finding stops a suite (Hypothesis then shrinks it), so the
    next suite runs with it known, until a suite ends without a new one or the profile's suites are spent."""
    profile = fuzzer.profile
    replayers = tenants[1:2] + (tenants[:1] if profile.both_directions else [])
    with fuzzer.campaign.timed(), quietly():
        for replayer in replayers:
            known: set[tuple[str, str]] = set()
            for suite in range(profile.stateful_suites):
                # Later suites start elsewhere (a fixed offset, so a derandomized run stays reproducible).
                suite_seed = seed + suite if seed is not None else (suite or None)
                found = run_suite(fuzzer, schema, replayer, known, suite_seed)
                if not found:
                    break
                known |= found


def run_suite(
    fuzzer: Fuzzer, schema: BaseSchema, replayer: SeededTenant, known: set[tuple[str, str]], seed: int | None
) -> set[tuple[str, str]]:
    """One suite of scenarios; returns the (control, operation) of the findings it recorded."""
    profile = fuzzer.profile
    shrinking = Shrinking(profile.shrink_scenarios)
    machine = replay_machine(tenant_schema(schema, fuzzer), fuzzer, replayer, shrinking, known)
    if seed is not None:
        machine = hypothesis.seed(seed)(machine)
    try:
        machine.run(settings=profile.settings(profile.scenarios, steps=profile.steps))
    except BaseException as error:
        verdicts = record_outcome(error, shrinking, fuzzer, f"stateful sequence replayed by {replayer.slug}")
        return {(f.control, verdict.operation) for verdict in verdicts for f in verdict.findings}
    return set()
