"""Network isolation, proven by real traffic from inside pods against the expectation derived from the policies.

The expected truth table comes from the cluster's NetworkPolicies (:mod:`tenantprobe.kube.network.policy`);
the observed one from probes sent from every probe pod to every other, per port/protocol. A cell
that flowed although the policies deny it is a critical failure (the enforcer does not enforce);
one that was blocked although allowed is an availability finding. Separately from the
enforcer, the policies themselves must keep tenants apart: no traffic between tenants and no
egress out of a tenant's namespace, observed or allowed. Missing evidence (no probe node, an
unhealthy enforcer, a server that failed its pre-check) is recorded *not assessed*, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantprobe.controls import load_catalogue
from tenantprobe.kube.network.policy import NetworkPolicy
from tenantprobe.kube.network.prober import Cell, Outcome
from tenantprobe.kube.network.run import PORTS, NetworkRun
from tenantprobe.records import ResultRecord, ResultWriter, Status

ENFORCED = "NET-POLICY-ENFORCED"
REACHABLE = "NET-ALLOWED-REACHABLE"
CROSS_TENANT = "NET-CROSS-TENANT-BLOCKED"
EGRESS = "NET-EGRESS-RESTRICTED"
DEFAULT_DENY = "NET-DEFAULT-DENY"
MAX_CELLS = 20


def _write(writer: ResultWriter, check_id: str, control: str, status: Status, **fields: Any) -> None:
    severity = load_catalogue().get(control).severity
    writer.write(ResultRecord(control_id=control, check_id=check_id, status=status, severity=severity, **fields))


def _describe(cell: Cell) -> str:
    verdict = cell.verdict
    expected = "allowed" if verdict.allowed else "denied"
    return f"{verdict.src} -> {verdict.dst} {verdict.port}/{verdict.protocol}: {cell.observed} (policies: {expected})"


@pytest.mark.controls(ENFORCED, REACHABLE)
def test_observed_reachability_matches_the_policies(
    request: pytest.FixtureRequest, network_run: NetworkRun, results_writer: ResultWriter
) -> None:
    __tracebackhide__ = True
    check = request.node.nodeid
    result = network_run.result
    if result is None:
        for control in (ENFORCED, REACHABLE):
            _write(results_writer, check, control, Status.NOT_ASSESSED, reason=network_run.unavailable)
        return
    tables = [{"truth_table": result.table(port)} for port in PORTS]
    measured = {
        "cells": len(result.cells),
        "probes": result.probes,
        "seconds": round(result.seconds, 3),
        "probes_per_second": round(result.probes_per_second, 1),
        "not_assessed_cells": len(result.mismatches("not_assessed")),
        "enforcer": network_run.facts.get("enforcer"),
    }
    findings = []
    mismatch_kinds: tuple[tuple[str, Outcome, str], ...] = (
        (ENFORCED, "allowed", "flowed although denied"),
        (REACHABLE, "blocked", "blocked although allowed"),
    )
    for control, outcome, word in mismatch_kinds:
        cells = result.mismatches(outcome)
        if cells:
            status, summary = Status.FAIL, f"{len(cells)} cell(s) {word}: " + "; ".join(map(_describe, cells[:5]))
            findings.append(f"[{control}] {summary}")
        elif result.precheck_failures:
            status, summary = Status.NOT_ASSESSED, ""
        else:
            status, summary = Status.PASS, f"{len(result.cells)} cells as the policies say"
        _write(
            results_writer,
            check,
            control,
            status,
            summary=summary,
            reason="; ".join(result.precheck_failures.values()) or None,
            measured=measured,
            evidence=[*tables, *(c.evidence() for c in cells[:MAX_CELLS])],
        )
    assert not findings, "\n".join(findings)


def _tenant_boundary_check(
    kube_probe: Any,
    network_run: NetworkRun,
    control: str,
    relevant: Callable[[str, str], bool],
    allows: Callable[[Cell], bool],
    what: str,
) -> None:
    """Every relevant cell must be neither observed flowing nor allowed by the policies (``allows``)."""
    __tracebackhide__ = True
    if network_run.result is None:
        kube_probe.not_assessed(control, network_run.unavailable or "nothing was probed")
        return
    unassessed = 0
    for cell in network_run.result.cells.values():
        src, dst = cell.verdict.src.split("/")[0], cell.verdict.dst.split("/")[0]
        if not relevant(src, dst):
            continue
        if cell.outcome == "not_assessed":
            unassessed += 1
            continue
        flowed = cell.observed == "connected"
        ok = not flowed and not allows(cell)
        kube_probe.check(
            control,
            ok,
            f"{what}: {_describe(cell)}",
            [cell.evidence()],
            attacker=network_run.tenant_of.get(src, src),
            victim=network_run.tenant_of.get(dst, dst),
        )
    if unassessed:
        kube_probe.not_assessed(control, f"{unassessed} cell(s) not probed: a probe server failed its pre-check")


@pytest.mark.controls(CROSS_TENANT)
def test_no_traffic_crosses_tenants(kube_probe: Any, network_run: NetworkRun) -> None:
    tenants = network_run.tenant_of

    def between_tenants(src: str, dst: str) -> bool:
        return src != dst and src in tenants and dst in tenants

    _tenant_boundary_check(
        kube_probe, network_run, CROSS_TENANT, between_tenants, lambda c: c.verdict.allowed, "traffic between tenants"
    )


@pytest.mark.controls(EGRESS)
def test_tenant_egress_stays_in_its_namespace(kube_probe: Any, network_run: NetworkRun) -> None:
    tenants = network_run.tenant_of

    def out_of_a_tenant(src: str, dst: str) -> bool:
        return src in tenants and dst != src

    # The source's own policies must not let it out, whatever the destination accepts.
    _tenant_boundary_check(
        kube_probe, network_run, EGRESS, out_of_a_tenant, lambda c: c.verdict.egress.allowed, "egress out of the tenant"
    )


@pytest.mark.controls(DEFAULT_DENY)
def test_tenant_namespaces_deny_by_default(
    kube_probe: Any, kube_tenants: list[Any], tenant_policies: dict[str, list[NetworkPolicy]]
) -> None:
    for tenant in kube_tenants:
        policies = tenant_policies[tenant.namespace]
        for direction in ("ingress", "egress"):
            deny = [p.key for p in policies if p.denies_by_default(direction)]
            kube_probe.check(
                DEFAULT_DENY,
                bool(deny),
                f"{tenant.namespace}: no default-deny {direction} policy (podSelector {{}}, policyTypes with "
                f"{direction.capitalize()}, no {direction} rules)",
                [{"namespace": tenant.namespace, "policies": [p.key for p in policies], "direction": direction}],
                attacker=tenant.name,
            )
