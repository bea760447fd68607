"""Stateless fuzzing: every operation, schema-valid and schema-violating input, as every tenant role.

Besides the case itself Hypothesis draws who sends it (a role of the acting tenant, shrinking
towards the most privileged). Each operation is run under several :class:`Plan`s: generated
ids, the actor's own ids, the victim tenant's ids, one tenant's parent with the other's child
(both ways), a body that names the victim tenant, a create sent twice, and query strings that
are the victim's words. A finding is recorded as the smallest case that still shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import hypothesis
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import BaseSchema, GenerationMode
from schemathesis.core.result import Ok

from suites.fuzz.aliases import AnyCase, Operation
from suites.fuzz.fuzzer import Fuzzer, id_sources
from suites.fuzz.shrinking import Shrinking, quietly, record_outcome
from tenantprobe.target import SeededTenant

MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def operations(schema: BaseSchema, fuzzer: Fuzzer) -> list[Operation]:
    """Every operation, writes before deletes and children deleted before parents (so seeded ids stay useful)."""
    found = []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            found.append(result.ok())
        else:  # an operation schemathesis cannot use: accounted for, not silently dropped
            error = str(result.err()).strip().splitlines() or ["an operation"]
            fuzzer.probe.skip_operation(error[0][:120], "schemathesis cannot generate requests for it")
    return sorted(found, key=lambda op: (op.method.upper() == "DELETE", -op.path.count("{"), op.path, op.method))


@dataclass(frozen=True)
class Plan:
    """One Hypothesis run over an operation: which input, whose ids in its path, and a twist.

    ``ids``: generated, own, foreign (the victim's), foreign-child or foreign-parent (two tenants'
    ids mixed). ``twist``: none, tenant-in-body (the body names the victim tenant), repeated
    (sent twice) or victim-terms (the query strings are the victim's canaries).
    """

    mode: GenerationMode
    ids: str
    twist: str
    examples: int


def plans(operation: Operation, fuzzer: Fuzzer, own: SeededTenant, victim: SeededTenant) -> list[Plan]:
    """Every operation gets generated input of both kinds; real ids and the twists get runs of their own.

    Cross-tenant attacks are planned rather than drawn, so that every operation with ids is
    attacked on every run: a derandomized draw that happens to miss one would be a blind spot
    that moves whenever the code does.
    """
    profile = fuzzer.profile
    positive, negative = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
    if fuzzer.target.is_platform_operation(operation.path):
        return [Plan(mode, "generated", "", profile.platform_examples) for mode in MODES]
    many, few = profile.positive_examples, profile.negative_examples
    found = [Plan(positive, "generated", "", many), Plan(negative, "generated", "", few)]
    sources = id_sources(operation.path, own, victim)
    if "own" in sources:
        found.append(Plan(positive, "own", "", max(1, many // 2)))
    if "foreign" in sources:
        found += [
            Plan(positive, "foreign", "", max(1, many // 2)),
            Plan(negative, "foreign", "", max(1, few // 2)),
        ]
    for mixed in ("foreign-child", "foreign-parent"):
        if mixed in sources:
            found.append(Plan(positive, mixed, "", max(1, many // 2)))
    if operation.method.upper() in ("POST", "PUT", "PATCH") and _takes_object(operation):
        found.append(Plan(positive, "own" if "own" in sources else "generated", "tenant-in-body", max(1, many // 2)))
    if operation.method.upper() == "POST":
        # The same request twice: a unique violation is where databases echo the conflicting key.
        found.append(Plan(positive, "own" if "own" in sources else "generated", "repeated", max(1, many // 2)))
    if operation.method.upper() == "GET" and _string_query(operation):
        # An attacker's search terms are the victim's words: a search that ignores the tenant then shows them.
        found.append(Plan(positive, "own" if "own" in sources else "generated", "victim-terms", max(1, many // 2)))
    return found


def _string_query(operation: Operation) -> bool:
    parameters = operation.definition.raw.get("parameters", [])
    return any(p.get("in") == "query" and "string" in json.dumps(p.get("schema", {})) for p in parameters)


def _takes_object(operation: Operation) -> bool:
    model = operation.definition.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    return bool(model.get("schema"))


def fuzz_every_operation(
    fuzzer: Fuzzer, schema: BaseSchema, own: SeededTenant, victim: SeededTenant, seed: int | None
) -> None:
    with fuzzer.campaign.timed(), quietly():
        for operation in operations(schema, fuzzer):
            for plan in plans(operation, fuzzer, own, victim):
                fuzz_operation(fuzzer, operation, plan, own, victim, seed)


def fuzz_operation(
    fuzzer: Fuzzer, operation: Operation, plan: Plan, own: SeededTenant, victim: SeededTenant, seed: int | None
) -> None:
    target = fuzzer.target
    shrinking = Shrinking(fuzzer.profile.shrink_examples)

    @fuzzer.profile.settings(plan.examples)
    @hypothesis.given(case=operation.as_strategy(generation_mode=plan.mode), role=st.sampled_from(target.profile.roles))
    def fuzz(case: AnyCase, role: str) -> None:
        shrinking.admit()
        verdict = fuzzer.execute(case, target.actor(own.ref, role), own, victim, plan.ids, plan.twist)
        fuzzer.campaign.cases["stateless"] += 1
        fuzzer.record_passes(verdict)
        if verdict.findings:
            raise shrinking.fail(verdict)

    if seed is not None:
        fuzz = hypothesis.seed(seed)(fuzz)
    label = f"{operation.label}, {plan.mode.value} input, {plan.ids} ids{', ' + plan.twist if plan.twist else ''}"
    try:
        fuzz()
    except Unsatisfiable:
        # e.g. negative input for an operation without parameters: there is none to generate.
        fuzzer.probe.skip_operation(label, "no input of this kind exists")
    except BaseException as error:
        record_outcome(error, shrinking, fuzzer, label)
