"""Run state shared by the users and the event listeners: the plan, the pacers, the collector.

One ``STATE`` per locust process. The master (or the single process) builds the plan; a
worker receives it in a message before any of its users start, and users block on it.
"""

from __future__ import annotations

import logging
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import gevent.event
from locust.runners import MasterRunner, WorkerRunner

from tenantprobe.load import slo
from tenantprobe.load.pacer import Pacer
from tenantprobe.load.plan import Operation, PlannedTenant, Preparation
from tenantprobe.load.resources import ProcessSampler
from tenantprobe.load.stats import LoadCollector, Phase

log = logging.getLogger("tenantprobe.load")

MSG_PLAN = "tenantprobe:plan"
MSG_FLUSH = "tenantprobe:flush"
MSG_FINAL = "tenantprobe:final"
FINAL_WAIT_SECONDS = 20.0
PLAN_WAIT_SECONDS = 120.0
# A timed run's window closes this long before the run stops: requests in flight at the stop are
# not counted as offered-but-not-served unless they were slower than this.
DRAIN_SECONDS = 1.0
# The options users read; workers take them from the plan, not from their own command line.
USER_SETTINGS = ("tenant_rps", "burst_rps", "burst_users", "provision_count", "provision_interval")
# Answers that refuse a write for a storage quota (the reference app: 403 with a problem naming it).
QUOTA_STATUSES = (403, 413, 507)


@dataclass(frozen=True)
class Scenario:
    name: str
    default_tenants: int
    fairness_roles: tuple[str, ...]
    fairness_phase: str = "all"


SCENARIOS = {
    "steady": Scenario("steady", 120, ("steady",)),
    "burst": Scenario("burst", 1, ("burst",)),
    "noisy-neighbour": Scenario("noisy-neighbour", 20, ("quiet",), "noisy"),
    "provisioning": Scenario("provisioning", 20, ("steady",)),
}


# ---------------------------------------------------------------------------- run state


@dataclass
class RunState:
    """Everything one locust process knows about the run (module-level: one per process)."""

    scenario: Scenario | None = None
    options: Any = None
    prep: Preparation | None = None
    plan_base: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] | None = None
    tenants: dict[str, list[PlannedTenant]] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    role_operations: dict[str, list[Operation]] = field(default_factory=dict)
    usage_settings: dict[str, str] = field(default_factory=dict)
    collector: LoadCollector | None = None
    pacers: list[tuple[str, Pacer]] = field(default_factory=list)
    claims: Counter[str] = field(default_factory=Counter)
    worker_index: int = 0
    worker_count: int = 1
    sampler: ProcessSampler | None = None
    generator: ProcessSampler | None = None  # this locust process (and --processes children), apart
    sampler_greenlet: Any = None
    window_end: float | None = None
    finals: dict[str, dict[str, Any]] = field(default_factory=dict)
    expected_workers: set[str] = field(default_factory=set)
    provisioned: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = ""
    exit_code: int | None = None
    plan_ready: gevent.event.Event = field(default_factory=gevent.event.Event)

    def install_plan(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.scenario = SCENARIOS[plan["scenario"]]
        self.operations = [Operation(**op) for op in plan["operations"]]
        self.role_operations = {
            role: [Operation(**op) for op in ops] for role, ops in plan.get("role_operations", {}).items()
        }
        self.tenants = {}
        for raw in plan["tenants"]:
            tenant = PlannedTenant(**raw)
            self.tenants.setdefault(tenant.role, []).append(tenant)
        phases = [Phase(p["name"], p["offset"]) for p in plan["phases"]]
        self.collector = LoadCollector(plan["window_start"], phases, plan["window_end"], DRAIN_SECONDS)
        self.pacers = []
        self.claims = Counter()
        self.provisioned = []
        self.plan_ready.set()

    def setting(self, name: str) -> Any:
        """An option as the master (or the single process) had it: workers get them with the plan."""
        return self.wait_plan()["settings"][name]

    def wait_plan(self) -> dict[str, Any]:
        if not self.plan_ready.wait(PLAN_WAIT_SECONDS) or self.plan is None:
            raise RuntimeError("tenantprobe: no load plan arrived from the master; is it a tenantprobe scenario?")
        return self.plan

    def claim(self, role: str) -> PlannedTenant:
        """The next tenant of ``role`` for a new user; workers take every worker_count-th tenant."""
        self.wait_plan()
        everyone = self.tenants.get(role, [])
        if not everyone:
            raise RuntimeError(f"tenantprobe: the plan has no tenant with role {role!r}")
        mine = [t for i, t in enumerate(everyone) if i % self.worker_count == self.worker_index % self.worker_count]
        pool = mine or everyone
        tenant = pool[self.claims[role] % len(pool)]
        self.claims[role] += 1
        return tenant

    def pick(self, rng: random.Random, tenant: PlannedTenant) -> Operation:
        operations = self.role_operations.get(tenant.role, self.operations)
        usable = [op for op in operations if op.weight > 0 and (tenant.ids or not op.needs_id)]
        return rng.choices(usable, weights=[op.weight for op in usable])[0]

    def close_collector(self, end: float) -> dict[str, Any]:
        assert self.collector is not None
        end = end if self.collector.end is None else min(end, self.collector.end)
        for key, pacer in self.pacers:
            for moment in pacer.pending(end):
                self.collector.offer(key, moment)
        return self.collector.close(end)


STATE = RunState()


def is_worker(environment: Any) -> bool:
    return isinstance(environment.runner, WorkerRunner)


def is_master(environment: Any) -> bool:
    return isinstance(environment.runner, MasterRunner)


def fail_setup(message: str) -> None:
    log.error("tenantprobe: %s", message)
    if STATE.prep is not None:
        STATE.prep.close()
    sys.exit(slo.EXIT_SETUP_FAILED)
