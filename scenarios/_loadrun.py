"""The locust side of the load scenarios: options, tenant-bound users, per-tenant statistics, SLOs.

Lifecycle (one process, or a master with workers):

- ``init`` (master or single process): read the options, open the target (starting the
  reference app if the profile says so), provision and seed the scenario's tenants, and
  pin each user class's ``fixed_count`` so every tenant gets its users.
- ``test_start``: open the measurement window (after ``--warmup``) and, on a master, send
  the plan to the workers *before* locust's spawn messages, so no user starts without it.
- ``request``: every response is counted for its tenant (context ``{"tenant": key}``) at
  microsecond resolution; 429 apart from other failures.
- ``test_stopping`` / ``test_stop``: close the window; a master asks every worker for its
  counts and merges them; the result document and the result records are written, and the
  SLOs decide the exit code, which ``quitting`` hands to locust.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

import gevent
import gevent.event
from _loadplan import Operation, PlannedTenant, Preparation, fill, load_workload, reweigh, tenant_ref, token_source
from locust import FastHttpUser, __version__, events, task
from locust.runners import MasterRunner, WorkerRunner

from tenantprobe import loadresult, loadslo
from tenantprobe.credentials import render
from tenantprobe.errors import ProfileError, TenantProbeError
from tenantprobe.loadstats import LoadCollector, Phase, merge_wires
from tenantprobe.procstats import ProcessSampler, unavailable
from tenantprobe.records import ResultWriter, now_iso

log = logging.getLogger("tenantprobe.load")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per setup request drowns the run

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


# ---------------------------------------------------------------------------- options


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    parser.add_argument("--target", default="targets/reference.yaml", help="tenantprobe: target profile (YAML)")
    parser.add_argument("--faults", default="", help="tenantprobe: seeded faults for a launched reference app")
    parser.add_argument(
        "--tenants", type=int, default=0, help="tenantprobe: steady/quiet tenants (default: 120 steady, 20 otherwise)"
    )
    parser.add_argument("--tenant-rps", type=float, default=10.0, help="tenantprobe: offered requests/s per tenant")
    parser.add_argument("--mix", default="", help="tenantprobe: operation weights, e.g. list=30,read=35,create=10")
    parser.add_argument("--workload", default="", help="tenantprobe: workload YAML (default: reference app notes)")
    parser.add_argument("--warmup", type=float, default=0.0, help="tenantprobe: seconds not measured after start")
    parser.add_argument("--baseline", type=float, default=10.0, help="tenantprobe: noisy-neighbour quiet-alone seconds")
    parser.add_argument("--flood-users", type=int, default=8, help="tenantprobe: users flooding as one tenant")
    parser.add_argument(
        "--flood-mix",
        default="list=20,read=20,search=10,create=40,update=10",
        help="tenantprobe: the flooder's operation weights (a bulk writer; unnamed operations get 0)",
    )
    parser.add_argument("--burst-users", type=int, default=10, help="tenantprobe: users bursting as one tenant")
    parser.add_argument("--burst-rps", type=float, default=150.0, help="tenantprobe: burst offered rate; 0 = unpaced")
    parser.add_argument("--provision-count", type=int, default=10, help="tenantprobe: tenants onboarded under load")
    parser.add_argument("--provision-interval", type=float, default=2.0, help="tenantprobe: seconds between them")
    parser.add_argument("--results-dir", default="results", help="tenantprobe: where load-<name>.json goes")
    parser.add_argument("--result-name", default="", help="tenantprobe: file name part (default: the scenario)")
    parser.add_argument("--slo", default="", help="tenantprobe: threshold overrides, e.g. PERF-P95-RESPONSE=80")
    parser.add_argument("--min-achieved-ratio", type=float, default=0.98, help="tenantprobe: achieved/offered SLO")
    parser.add_argument("--min-fairness", type=float, default=0.99, help="tenantprobe: Jain's index SLO")
    parser.add_argument("--max-error-rate", type=float, default=0.001, help="tenantprobe: per-tenant error rate SLO")
    parser.add_argument("--slo-exit-code", type=int, default=loadslo.EXIT_SLO_VIOLATED, help="tenantprobe")
    parser.add_argument("--app-pids", default="", help="tenantprobe: pids to sample for an external target")
    parser.add_argument("--seed-objects", type=int, default=-1, help="tenantprobe: objects seeded per tenant")


# ---------------------------------------------------------------------------- pacing


class Pacer:
    """A Poisson arrival schedule: exponential gaps at ``rate`` per second, kept on an intended timeline.

    The next arrival is drawn from the previous *intended* time, not from when the last
    request finished, so a slow target makes the user fall behind (offered > achieved)
    instead of silently offering less. ``rate == 0`` means unpaced: as fast as possible.
    """

    def __init__(self, rate: float, rng: random.Random, start: float) -> None:
        self.rate = rate
        self.rng = rng
        self.next = start
        self.taken = False

    def take(self) -> float:
        """The intended time of the arrival being served now."""
        self.taken = True
        return self.next if self.rate > 0 else time.time()

    def delay(self) -> float:
        if self.rate <= 0:
            return 0.0
        self.next += self.rng.expovariate(self.rate)
        self.taken = False
        return max(0.0, self.next - time.time())

    def pending(self, end: float) -> list[float]:
        """Arrivals already due by ``end`` that no request served (the user was behind)."""
        if self.rate <= 0:
            return []
        due, moment = [], self.next
        if self.taken:
            moment += self.rng.expovariate(self.rate)
        while moment <= end:
            due.append(moment)
            moment += self.rng.expovariate(self.rate)
        return due


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


def _is_worker(environment: Any) -> bool:
    return isinstance(environment.runner, WorkerRunner)


def _is_master(environment: Any) -> bool:
    return isinstance(environment.runner, MasterRunner)


def _fail_setup(message: str) -> None:
    log.error("tenantprobe: %s", message)
    if STATE.prep is not None:
        STATE.prep.close()
    sys.exit(loadslo.EXIT_SETUP_FAILED)


# ---------------------------------------------------------------------------- users


class TenantUser(FastHttpUser):
    """A user bound to one tenant for its whole life, offering a Poisson stream of the workload's mix."""

    abstract = True
    role: ClassVar[str] = "steady"

    def user_rate(self) -> float:
        return float(STATE.setting("tenant_rps"))

    def on_start(self) -> None:
        self.tenant = STATE.claim(self.role)
        self.rng = random.Random()
        self.counter = 0
        self.auth = {"Authorization": f"Bearer {self.tenant.token}"}
        started = time.time()
        self.pacer = Pacer(self.user_rate(), self.rng, started)
        assert STATE.collector is not None
        STATE.collector.join(self.tenant.key, started, paced=self.pacer.rate > 0)
        STATE.pacers.append((self.tenant.key, self.pacer))

    def wait_time(self) -> float:
        return self.pacer.delay()

    @task
    def operate(self) -> None:
        assert STATE.collector is not None
        intended = self.pacer.take()
        STATE.collector.offer(self.tenant.key, intended)
        op = STATE.pick(self.rng, self.tenant)
        self.counter += 1
        path = fill(op.path, self.tenant, self.rng, self.counter)
        query = fill(op.query, self.tenant, self.rng, self.counter)
        if query:
            path += "?" + urlencode(query)
        body = fill(op.body, self.tenant, self.rng, self.counter) if op.body is not None else None
        with self.client.request(
            op.method,
            path,
            name=op.name,
            json=body,
            headers=self.auth,
            context={"tenant": self.tenant.key, "intended": intended},
            catch_response=True,
        ) as response:
            self.judge(response, op)

    def judge(self, response: Any, op: Operation) -> None:
        status = response.status_code or 0
        if status == 429:
            response.failure("429 Too Many Requests")
        elif op.method == "POST" and 200 <= status < 300 and len(self.tenant.ids) < 200:
            try:
                created = response.json()
            except ValueError:
                return
            if isinstance(created, dict) and isinstance(created.get("id"), str):
                self.tenant.ids.append(created["id"])


class FloodingUser(TenantUser):
    """Many of these share one tenant and send as fast as they can once the noisy phase begins.

    Their 429s are what a per-tenant limit should answer: counted apart, not failures.
    """

    abstract = True
    role: ClassVar[str] = "flooder"

    def user_rate(self) -> float:
        return 0.0

    def on_start(self) -> None:
        plan = STATE.wait_plan()
        noisy_at = plan["window_start"] + plan["phases"][-1]["offset"]
        gevent.sleep(max(0.0, noisy_at - time.time()))
        super().on_start()

    def judge(self, response: Any, op: Operation) -> None:
        status = response.status_code or 0
        if status == 429 or (status in QUOTA_STATUSES and "quota" in (response.text or "").lower()):
            response.success()  # counted apart (throttled or refused), not as a failure
        else:
            super().judge(response, op)


class BurstUser(TenantUser):
    abstract = True
    role: ClassVar[str] = "burst"

    def user_rate(self) -> float:
        return float(STATE.setting("burst_rps")) / max(int(STATE.setting("burst_users")), 1)


class OnboardingUser(FastHttpUser):
    """Provisions tenants one after another while the others load the target, and times each.

    Provisioning time is measured to the tenant's first successful request, the moment it is
    usable, not only to the platform API's answer.
    """

    abstract = True
    role: ClassVar[str] = "provisioner"

    def on_start(self) -> None:
        plan = STATE.wait_plan()
        self.template = plan["provisioning"]
        self.tokens = token_source(self.template, plan["base_url"])
        self.platform = {"Authorization": f"Bearer {self.template['platform_token']}"}
        self.done = 0
        self.run_id = plan["run_id"]

    def wait_time(self) -> float:
        return float(STATE.setting("provision_interval"))

    @task
    def onboard(self) -> None:
        if self.done >= int(STATE.setting("provision_count")):
            return
        self.done += 1
        slug = f"lt-onboard-{self.run_id}-w{STATE.worker_index}-{self.done:04d}"
        sample: dict[str, Any] = {"slug": slug, "status": "failed"}
        started = time.time()
        body = render(self.template["body"], {"slug": slug})
        with self.client.post(
            self.template["path"], json=body, headers=self.platform, name="provision", catch_response=True
        ) as response:
            if not 200 <= (response.status_code or 0) < 300:
                sample["error"] = f"provisioning answered {response.status_code}"
                STATE.provisioned.append(sample)
                return
            tenant_id = response.json().get(self.template["id_field"])
        sample["provision_s"] = round(time.time() - started, 6)
        token = self.tokens.token(tenant_ref(tenant_id, slug), self.template["writer_role"])
        first = next((op for op in STATE.operations if op.method == "GET" and not op.needs_id), None)
        path = first.path if first else "/"
        deadline = started + 300
        while time.time() < deadline:
            with self.client.get(
                path, headers={"Authorization": f"Bearer {token}"}, name="first-request", catch_response=True
            ) as response:
                if 200 <= (response.status_code or 0) < 300:
                    sample["ready_s"] = round(time.time() - started, 6)
                    sample["status"] = "ok"
                    break
                response.success()  # not ready yet is not a failure; not ready in 5 minutes is
            gevent.sleep(0.05)
        else:
            sample["error"] = "the new tenant's first request did not succeed within 300 s"
        STATE.provisioned.append(sample)


# ---------------------------------------------------------------------------- events


def _scenario_of(user_classes: list[type]) -> Scenario:
    names = {getattr(cls, "scenario", None) for cls in user_classes}
    if len(names) != 1 or None in names:
        classes = ", ".join(sorted(cls.__name__ for cls in user_classes))
        _fail_setup(
            f"name the user classes of exactly one scenario, e.g. `locust -f scenarios SteadyTenant`; "
            f"this run would mix {classes or 'no classes'}"
        )
    return SCENARIOS[str(names.pop())]


def _roles(scenario: Scenario, options: Any) -> tuple[dict[str, int], dict[str, int]]:
    """Tenants per role and users per role for the scenario."""
    tenants = options.tenants or scenario.default_tenants
    match scenario.name:
        case "steady":
            return {"steady": tenants}, {"steady": tenants}
        case "burst":
            return {"burst": 1}, {"burst": options.burst_users}
        case "noisy-neighbour":
            return {"quiet": tenants, "flooder": 1}, {"quiet": tenants, "flooder": options.flood_users}
        case _:
            return {"steady": tenants}, {"steady": tenants, "provisioner": 1}


@events.init.add_listener
def on_init(environment: Any, **_: Any) -> None:
    if _is_worker(environment):
        environment.runner.register_message(MSG_PLAN, _on_plan)
        environment.runner.register_message(MSG_FLUSH, _on_flush)
        return
    if environment.parsed_options is None:
        return  # locust used as a library without our options
    options = environment.parsed_options
    scenario = _scenario_of(environment.user_classes)
    STATE.scenario, STATE.options = scenario, options
    try:
        _check_options(scenario, options)
        overrides = loadslo.parse_slo_overrides(options.slo)
        operations, seed, STATE.usage_settings = load_workload(options.workload or None, options.mix)
        role_operations = (
            {"flooder": reweigh(operations, options.flood_mix)} if scenario.name == "noisy-neighbour" else {}
        )
        if options.seed_objects >= 0:
            seed = {**seed, "count": options.seed_objects}
        tenant_roles, user_roles = _roles(scenario, options)
        results_dir = Path(options.results_dir)
        STATE.prep = Preparation(options.target, _faults(options.faults), results_dir / "logs")
        started = time.time()
        tenants = STATE.prep.tenants(scenario.name, tenant_roles, operations, seed)
        log.info("tenantprobe: %d tenants provisioned and seeded in %.1f s", len(tenants), time.time() - started)
        provisioning = STATE.prep.provisioning_template() if scenario.name == "provisioning" else None
        flooders = [t for t in tenants if t.role == "flooder"]
        flooder_start = STATE.prep.usage(flooders[0], STATE.usage_settings) if flooders else {}
    except TenantProbeError as exc:
        _fail_setup(str(exc))
        return
    STATE.plan_base = {
        "scenario": scenario.name,
        "run_id": STATE.prep.run_id,
        "base_url": STATE.prep.target.base_url,
        "operations": [op.__dict__ for op in operations],
        "role_operations": {role: [op.__dict__ for op in ops] for role, ops in role_operations.items()},
        "flooder_start": flooder_start,
        "settings": {name: getattr(options, name) for name in USER_SETTINGS},
        "tenants": [t.__dict__ for t in tenants],
        "provisioning": provisioning,
        "overrides": overrides,
    }
    for cls in environment.user_classes:
        cls.fixed_count = user_roles.get(cls.role, 0)
    if options.num_users is None:
        options.num_users = sum(user_roles.values())
    if options.spawn_rate is None:
        options.spawn_rate = float(min(options.num_users, 100))
    if not environment.host:
        environment.host = STATE.prep.target.base_url
    try:
        pids = STATE.prep.launched_pids or _external_pids(options.app_pids)
    except ProfileError as exc:
        _fail_setup(str(exc))
    STATE.sampler = ProcessSampler(pids) if pids else None
    if _is_master(environment):
        environment.runner.register_message(MSG_FINAL, _on_final)


def _check_options(scenario: Scenario, options: Any) -> None:
    measured = (options.run_time or 0) - options.warmup - DRAIN_SECONDS
    if options.run_time and measured <= 0:
        raise ProfileError(
            f"--run-time {options.run_time}s leaves nothing to measure after --warmup {options.warmup:g}s and the "
            f"{DRAIN_SECONDS:g}s drain; run longer"
        )
    if scenario.name == "noisy-neighbour" and options.run_time and measured <= options.baseline:
        raise ProfileError(
            f"--baseline {options.baseline:g}s takes the whole measured run ({measured:g}s): the flooder would never "
            "start; run longer or shorten --baseline"
        )
    for name in ("tenant_rps", "burst_rps", "provision_interval"):
        if getattr(options, name) < 0:
            raise ProfileError(f"--{name.replace('_', '-')} must not be negative")
    if options.tenants < 0 or options.flood_users < 1 or options.burst_users < 1:
        raise ProfileError("--tenants must be >= 0, --flood-users and --burst-users >= 1")


def _faults(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _external_pids(text: str) -> dict[str, list[int]]:
    """``--app-pids 1234,1240`` or ``api=1234,postgres=1240`` (a pid and its children are sampled)."""
    groups: dict[str, list[int]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, pid = item.rpartition("=")
        if not pid.isdigit():
            raise ProfileError(f"--app-pids {item!r}: expected a pid or NAME=PID")
        groups.setdefault(name or "app", []).append(int(pid))
    return groups


@events.test_start.add_listener
def on_test_start(environment: Any, **_: Any) -> None:
    if _is_worker(environment) or STATE.scenario is None:
        return
    options = STATE.options
    now = time.time()
    STATE.started_at = now_iso()
    STATE.window_end = None
    STATE.finals = {}
    phases = [{"name": "main", "offset": 0.0}]
    if STATE.scenario.name == "noisy-neighbour":
        phases = [{"name": "baseline", "offset": 0.0}, {"name": "noisy", "offset": float(options.baseline)}]
    window_end = now + options.run_time - DRAIN_SECONDS if options.run_time else None
    plan = {**STATE.plan_base, "window_start": now + float(options.warmup), "window_end": window_end, "phases": phases}
    STATE.install_plan(plan)
    if _is_master(environment):
        runner = environment.runner
        clients = runner.clients.ready + runner.clients.running + runner.clients.spawning
        STATE.expected_workers = {client.id for client in clients}
        for client in clients:
            runner.send_message(
                MSG_PLAN,
                {"plan": plan, "worker_index": runner.get_worker_index(client.id), "worker_count": len(clients)},
                client_id=client.id,
            )
    if STATE.sampler is not None and STATE.sampler_greenlet is None:
        STATE.sampler_greenlet = gevent.spawn(_sample_forever, STATE.sampler)


def _sample_forever(sampler: ProcessSampler) -> None:
    sampler.sample()
    while True:
        gevent.sleep(1.0)
        sampler.sample()


def _on_plan(environment: Any, msg: Any, **_: Any) -> None:
    STATE.options = environment.parsed_options
    STATE.worker_index = int(msg.data["worker_index"])
    STATE.worker_count = max(int(msg.data["worker_count"]), 1)
    STATE.install_plan(msg.data["plan"])


def _on_flush(environment: Any, msg: Any, **_: Any) -> None:
    wire = STATE.close_collector(float(msg.data["end"]))
    environment.runner.send_message(
        MSG_FINAL,
        {"client_id": environment.runner.client_id, "wire": wire, "provisioned": STATE.provisioned},
    )


def _on_final(environment: Any, msg: Any, **_: Any) -> None:
    STATE.finals[msg.data["client_id"]] = msg.data


@events.request.add_listener
def on_request(
    name: str,
    response_time: float,
    response: Any = None,
    context: dict[str, Any] | None = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    context = context or {}
    key = context.get("tenant")
    collector = STATE.collector
    if not key or collector is None:
        return  # platform requests (provisioning) and anything outside a tenantprobe scenario
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    collector.record(
        key,
        name,
        start=start_time if start_time is not None else time.time() - response_time / 1000,
        duration_ms=response_time,
        status=status,
        failed=exception is not None,
        retry_after=bool(headers.get("Retry-After")) if status == 429 else True,
        message="" if exception is None else f"{type(exception).__name__}: {exception}",
        intended=context.get("intended"),
    )


@events.test_stopping.add_listener
def on_test_stopping(environment: Any, **_: Any) -> None:
    if _is_worker(environment) or STATE.collector is None or STATE.window_end is not None:
        return
    STATE.window_end = time.time()
    if _is_master(environment):
        environment.runner.send_message(MSG_FLUSH, {"end": STATE.window_end})


@events.test_stop.add_listener
def on_test_stop(environment: Any, **_: Any) -> None:
    if _is_worker(environment) or STATE.collector is None or STATE.scenario is None:
        return
    stopped = STATE.window_end or time.time()
    end = min(stopped, STATE.plan["window_end"]) if STATE.plan and STATE.plan["window_end"] else stopped
    if _is_master(environment):
        deadline = time.time() + FINAL_WAIT_SECONDS
        while set(STATE.finals) < STATE.expected_workers and time.time() < deadline:
            gevent.sleep(0.05)
        wires = [final["wire"] for final in STATE.finals.values()]
        provisioned = [sample for final in STATE.finals.values() for sample in final["provisioned"]]
        missing = sorted(STATE.expected_workers - set(STATE.finals))
    else:
        wires = [STATE.close_collector(end)]
        provisioned = list(STATE.provisioned)
        missing = []
    if STATE.sampler_greenlet is not None:
        STATE.sampler_greenlet.kill(block=False)
        STATE.sampler_greenlet = None
    try:
        _finish(environment, wires, provisioned, end, missing)
    except Exception:
        log.exception("tenantprobe: could not write the load result")
        STATE.exit_code = loadslo.EXIT_SETUP_FAILED
    STATE.collector = None


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)

    def pct(p: float) -> float:
        # nearest rank
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 6)

    return {
        "count": len(ordered),
        "avg": round(sum(ordered) / len(ordered), 6),
        "p50": pct(50),
        "p95": pct(95),
        "max": round(ordered[-1], 6),
    }


def _flooder_view(plan: dict[str, Any]) -> dict[str, Any] | None:
    """The flooder's plan limits before the run and its storage after it, as the target reports them."""
    flooders = [PlannedTenant(**t) for t in plan["tenants"] if t["role"] == "flooder"]
    if not flooders or STATE.prep is None:
        return None
    end = STATE.prep.usage(flooders[0], STATE.usage_settings)
    start = plan.get("flooder_start") or {}
    return {
        "tenant": flooders[0].slug,
        "rate_limit_rps": start.get("rate"),
        "burst": start.get("burst"),
        "storage_limit": end.get("storage_limit", start.get("storage_limit")),
        "storage_used_start": start.get("storage_used"),
        "storage_used_end": end.get("storage_used"),
    }


def _finish(
    environment: Any, wires: list[dict[str, Any]], provisioned: list[dict[str, Any]], end: float, missing: list[str]
) -> None:
    assert STATE.scenario is not None
    assert STATE.plan is not None
    assert STATE.prep is not None
    options = STATE.options
    plan = STATE.plan
    scenario = STATE.scenario
    window = (plan["window_start"], end)
    if STATE.sampler is not None:
        resources = STATE.sampler.report(*window)
    else:
        resources = unavailable("the target was not launched by tenantprobe and no --app-pids were given")
    provisioning = None
    if scenario.name == "provisioning":
        ok = [s for s in provisioned if s["status"] == "ok"]
        provisioning = {
            "count": len(provisioned),
            "failed": len(provisioned) - len(ok),
            "provision_seconds": _summary([s["provision_s"] for s in ok]),
            "ready_seconds": _summary([s["ready_s"] for s in ok]),
            "setup_seconds": _summary(STATE.prep.provision_seconds),
            "samples": provisioned,
        }
    parameters = {
        key: getattr(options, key)
        for key in (
            "tenants",
            "tenant_rps",
            "mix",
            "warmup",
            "baseline",
            "flood_users",
            "burst_users",
            "burst_rps",
            "provision_count",
            "provision_interval",
            "num_users",
            "spawn_rate",
            "run_time",
            "faults",
            "slo",
        )
    }
    parameters["tenants"] = sum(1 for t in plan["tenants"] if t["role"] != "flooder")
    parameters["think_time"] = "poisson"
    parameters["operations"] = {op.name: op.weight for op in STATE.operations}
    parameters["flood_mix"] = options.flood_mix if scenario.name == "noisy-neighbour" else None
    runner = environment.runner
    generator = {
        "tool": "locust",
        "locust_version": __version__,
        "mode": "distributed" if _is_master(environment) else "standalone",
        "workers": len(STATE.finals) if _is_master(environment) else 0,
        "workers_missing": missing,
        "host": platform.node(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "user_count": runner.user_count if hasattr(runner, "user_count") else None,
    }
    document = loadresult.build_document(
        scenario=scenario.name,
        merged=merge_wires(wires),
        tenants=[PlannedTenant(**t).meta() for t in plan["tenants"]],
        window=window,
        phases=[Phase(p["name"], p["offset"]) for p in plan["phases"]],
        parameters=parameters,
        target=STATE.prep.target.identity,
        generator=generator,
        fairness={"roles": scenario.fairness_roles, "phase": scenario.fairness_phase},
        resources=resources,
        provisioning=provisioning,
        flooder=_flooder_view(plan),
        started_at=STATE.started_at,
        finished_at=now_iso(),
    )
    criteria = loadslo.Criteria(
        min_achieved_ratio=options.min_achieved_ratio,
        min_fairness=options.min_fairness,
        max_error_rate=options.max_error_rate,
    )
    results = loadslo.evaluate(document, plan["overrides"], criteria, options.slo_exit_code)
    STATE.exit_code = loadslo.exit_code(results, options.slo_exit_code)
    results_dir = Path(options.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"load-{options.result_name or scenario.name}.json"
    path.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    writer = ResultWriter(results_dir, f"load-{options.result_name or scenario.name}", document["target"])
    loadslo.write_records(document, results, writer, path)
    failed = [r for r in results if r.status == "fail"]
    log.info(
        "tenantprobe: %s written; SLOs %s%s",
        path,
        "violated: " if failed else "met",
        ", ".join(f"{r.control_id} {r.criterion}={r.measured} (needs {r.comparator} {r.threshold:g})" for r in failed),
    )


@events.quitting.add_listener
def on_quitting(environment: Any, **_: Any) -> None:
    if _is_worker(environment):
        return
    if STATE.exit_code is not None:
        environment.process_exit_code = STATE.exit_code
    if STATE.prep is not None:
        STATE.prep.close()
        STATE.prep = None
