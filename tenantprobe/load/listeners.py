"""The locust side of the load scenarios: options, event listeners, per-tenant statistics, SLOs.

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
import os
import platform
import time
from pathlib import Path
from typing import Any

import gevent
from locust import __version__, events
from locust import log as locust_log

from tenantprobe.errors import ProfileError, TenantProbeError
from tenantprobe.exitcodes import ExitCode
from tenantprobe.load import result, slo
from tenantprobe.load.plan import PlannedTenant, Preparation, load_workload, reweigh
from tenantprobe.load.resources import ProcessSampler, unavailable
from tenantprobe.load.state import (
    DRAIN_SECONDS,
    FINAL_WAIT_SECONDS,
    MSG_FINAL,
    MSG_FLUSH,
    MSG_PLAN,
    SCENARIOS,
    STATE,
    USER_SETTINGS,
    Scenario,
    fail_setup,
    is_master,
    is_worker,
)
from tenantprobe.load.stats import Phase, merge_wires, summary
from tenantprobe.records import ResultWriter, now_iso

log = logging.getLogger("tenantprobe.load")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per setup request drowns the run

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
    parser.add_argument("--slo-exit-code", type=int, default=slo.EXIT_SLO_VIOLATED, help="tenantprobe")
    parser.add_argument("--app-pids", default="", help="tenantprobe: pids to sample for an external target")
    parser.add_argument("--seed-objects", type=int, default=-1, help="tenantprobe: objects seeded per tenant")


# ---------------------------------------------------------------------------- events


def _scenario_of(user_classes: list[type]) -> Scenario:
    names = {getattr(cls, "scenario", None) for cls in user_classes}
    if len(names) != 1 or None in names:
        classes = ", ".join(sorted(cls.__name__ for cls in user_classes))
        fail_setup(
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
    if is_worker(environment):
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
        overrides = slo.parse_slo_overrides(options.slo)
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
        fail_setup(str(exc))
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
        fail_setup(str(exc))
    STATE.sampler = ProcessSampler(pids) if pids else None
    STATE.generator = ProcessSampler(
        {"locust": [os.getpid()]}, exclude=[pid for group in pids.values() for pid in group]
    )
    if is_master(environment):
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
    if is_worker(environment) or STATE.scenario is None:
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
    if is_master(environment):
        runner = environment.runner
        clients = runner.clients.ready + runner.clients.running + runner.clients.spawning
        STATE.expected_workers = {client.id for client in clients}
        for client in clients:
            runner.send_message(
                MSG_PLAN,
                {"plan": plan, "worker_index": runner.get_worker_index(client.id), "worker_count": len(clients)},
                client_id=client.id,
            )
    if STATE.sampler_greenlet is None:
        samplers = [sampler for sampler in (STATE.sampler, STATE.generator) if sampler is not None]
        STATE.sampler_greenlet = gevent.spawn(_sample_forever, samplers)


def _sample_forever(samplers: list[ProcessSampler]) -> None:
    for sampler in samplers:
        sampler.sample()
    while True:
        gevent.sleep(1.0)
        for sampler in samplers:
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
    if is_worker(environment) or STATE.collector is None or STATE.window_end is not None:
        return
    STATE.window_end = time.time()
    if is_master(environment):
        environment.runner.send_message(MSG_FLUSH, {"end": STATE.window_end})


@events.test_stop.add_listener
def on_test_stop(environment: Any, **_: Any) -> None:
    if is_worker(environment) or STATE.collector is None or STATE.scenario is None:
        return
    stopped = STATE.window_end or time.time()
    end = min(stopped, STATE.plan["window_end"]) if STATE.plan and STATE.plan["window_end"] else stopped
    if is_master(environment):
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
        STATE.exit_code = slo.EXIT_SETUP_FAILED
    STATE.collector = None


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
        if STATE.generator is not None:
            # The load generator's own CPU, never part of the target's figures.
            resources["generator"] = STATE.generator.report(*window).get("summary")
    else:
        resources = unavailable("the target was not launched by tenantprobe and no --app-pids were given")
    provisioning = None
    if scenario.name == "provisioning":
        ok = [s for s in provisioned if s["status"] == "ok"]
        provisioning = {
            "count": len(provisioned),
            "failed": len(provisioned) - len(ok),
            "provision_seconds": summary([s["provision_s"] for s in ok]),
            "ready_seconds": summary([s["ready_s"] for s in ok]),
            "setup_seconds": summary(STATE.prep.provision_seconds),
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
        "mode": "distributed" if is_master(environment) else "standalone",
        "workers": len(STATE.finals) if is_master(environment) else 0,
        "workers_missing": missing,
        "host": platform.node(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "user_count": runner.user_count if hasattr(runner, "user_count") else None,
    }
    document = result.build_document(
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
    criteria = slo.Criteria(
        min_achieved_ratio=options.min_achieved_ratio,
        min_fairness=options.min_fairness,
        max_error_rate=options.max_error_rate,
    )
    results = slo.evaluate(document, plan["overrides"], criteria, options.slo_exit_code)
    STATE.exit_code = slo.exit_code(results, options.slo_exit_code)
    results_dir = Path(options.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"load-{options.result_name or scenario.name}.json"
    writer = ResultWriter(results_dir, f"load-{options.result_name or scenario.name}", document["target"])
    path.write_text(json.dumps(writer.stamp(document), indent=1, sort_keys=False) + "\n", encoding="utf-8")
    slo.write_records(document, results, writer, path)
    failed = [r for r in results if r.status == "fail"]
    log.info(
        "tenantprobe: %s written; SLOs %s%s",
        path,
        "violated: " if failed else "met",
        ", ".join(f"{r.control_id} {r.criterion}={r.measured} (needs {r.comparator} {r.threshold:g})" for r in failed),
    )


@events.quitting.add_listener
def on_quitting(environment: Any, **_: Any) -> None:
    if is_worker(environment):
        return
    if STATE.exit_code is not None:
        environment.process_exit_code = STATE.exit_code
    elif environment.runner.exceptions or locust_log.unhandled_greenlet_exception:
        environment.process_exit_code = ExitCode.CRASHED
    elif STATE.scenario is not None:
        # Failed requests are judged by the error-rate SLOs, which held: not locust's exit 1 (a finding).
        environment.process_exit_code = ExitCode.PASS
    if STATE.prep is not None:
        STATE.prep.close()
        STATE.prep = None
