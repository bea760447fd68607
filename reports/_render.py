"""report.html: one self-contained page (inline CSS and SVG, one hashed inline script, no requests).

Evidence was redacted when the suites wrote it; every value rendered here goes through
``redact_text`` once more (the environment's ``finalize``), so a record written by a suite
that forgot to redact still cannot put a token into the report.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import defaultdict
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from reports._build import Report
from reports._charts import heatmap, latency_distribution, line_chart
from reports._model import SEVERITIES, STATUS_ORDER, ControlResult, LoadResult, Record
from reports._tally import is_truth_table
from tenantprobe.redact import redact_text

MAX_EVIDENCE_CHARS = 4000
MAX_SERIES = 8

# Opens every <details> before printing, so a printed report shows all evidence.
PRINT_SCRIPT = 'addEventListener("beforeprint",()=>{for(const d of document.querySelectorAll("details"))d.open=true});'
SCRIPT_HASH = base64.b64encode(hashlib.sha256(PRINT_SCRIPT.encode()).digest()).decode()
# The page may load nothing at all: no fetch, image, font, frame or script from anywhere.
CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{SCRIPT_HASH}'"

STATUS_LABEL = {
    "pass": "Pass",
    "fail": "Fail",
    "error": "Error",
    "not_assessed": "Not assessed",
    "not_applicable": "Not applicable",
    "waived": "Waived",
    "met": "Met",
    "not_met": "Not met",
    "incomplete": "Incomplete",
}
LAYER_TITLE = {
    "data": "Data layer (database)",
    "application": "Application layer",
    "api": "API layer",
    "infrastructure": "Infrastructure (Kubernetes)",
    "network": "Network",
    "operations": "Operations and performance",
}
VERDICT_TEXT = {
    "PASS": "Tenants were kept apart in every check that ran, and the evidence covers enough of the catalogue to "
    "meet the audit target.",
    "FAIL": "The run found a way across the boundary between tenants, or missed a target that is not negotiable. "
    "Each reason below names the control that failed; its section says how to fix it.",
    "INCOMPLETE": "No critical isolation failure was found, but the evidence is not complete enough to call this "
    "a pass. The reasons below say what is missing.",
}


# Every secret pattern redact_text() removes contains one of these; text without any is left as is,
# which keeps the second redaction pass cheap on 10k-record reports.
_MAY_HOLD_SECRET = re.compile(
    r"eyJ|-----BEGIN|://|pass|pwd|secret|api|token|session|cookie|authorization|credential|bearer|basic"
    r"|[srp]k_|gh[pousr]_|AKIA|xox",
    re.IGNORECASE,
)


def safe_text(text: str) -> str:
    return redact_text(text) if _MAY_HOLD_SECRET.search(text) else text


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    return value


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = lambda status: STATUS_LABEL.get(str(status), str(status))
    env.filters["pretty"] = _pretty
    return env


@cache
def _css() -> Markup:
    # Read as text, not as a template: it has no expressions, and parsing it costs a quarter second.
    return Markup(resources.files("reports").joinpath("templates/report.css").read_text())  # noqa: S704 - our file


def _pretty(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, default=str)
    if len(text) > MAX_EVIDENCE_CHARS:
        text = text[:MAX_EVIDENCE_CHARS] + f"\n… ({len(text) - MAX_EVIDENCE_CHARS} more characters in the results file)"
    return text


def _evidence_item(record: Record, item: Any) -> dict[str, Any]:
    """One evidence item as display strings: an HTTP exchange with its curl, or any other data pretty-printed."""
    request = item.get("request") if isinstance(item, dict) else None
    response = item.get("response") if isinstance(item, dict) else None
    if isinstance(request, dict) and isinstance(response, dict):
        actor, method, url = item.get("actor", "?"), request.get("method", "?"), request.get("url", "?")
        head = f"{actor}: {method} {url} → {response.get('status', '?')}"
        sent = {"headers": request.get("headers"), "body": request.get("body")}
        received = {"status": response.get("status"), "headers": response.get("headers")}
        body = response.get("body")
        return {
            "check": record.check_id,
            "head": head,
            "request": _pretty(sent),
            "response": _pretty(received) + "\n\n" + (_pretty(body) if body is not None else "(no body)"),
            "curl": str(item.get("curl") or ""),
            "data": None,
        }
    if is_truth_table(item):
        item = item["truth_table"]  # the network suite's rows x columns table: shown as laid out, not as JSON
    return {"check": record.check_id, "head": "", "request": "", "response": "", "curl": "", "data": _pretty(item)}


def _evidence(result: ControlResult) -> list[dict[str, Any]]:
    """The evidence worth showing: that of failing and erroring records, and truth tables whatever the status
    (the observed network matrix is the proof of a pass too), capped per control (see reports/_tally.py)."""
    return [_evidence_item(record, item) for record, item in result.tally.evidence]


def _layers(report: Report) -> list[dict[str, Any]]:
    grouped: dict[str, list[ControlResult]] = defaultdict(list)
    for result in report.results:
        grouped[result.control.layer].append(result)
    layers = []
    for layer in report.layers:
        results = sorted(
            grouped[layer],
            key=lambda r: (STATUS_ORDER.index(r.status), SEVERITIES.index(r.control.severity), r.control.id),
        )
        counts: dict[str, int] = defaultdict(int)
        for result in results:
            counts[result.status] += 1
        layers.append(
            {
                "id": layer,
                "title": LAYER_TITLE.get(layer, layer),
                "counts": dict(counts),
                "controls": [
                    {"result": r, "evidence": _evidence(r), "checks": r.tally.check_rows(), "attempts": r.attempts}
                    for r in results
                ],
            }
        )
    return layers


def _performance(load_results: list[LoadResult], report: Report) -> list[dict[str, Any]]:
    """Charts from the load results: latency per tenant, throughput over time, scalability, resources."""
    charts: list[dict[str, Any]] = []
    avg_target = report.catalogue.get("PERF-AVG-RESPONSE").measure.threshold
    cpu_target = report.catalogue.get("PERF-RESOURCE-UTILIZATION").measure.threshold
    for load in load_results:
        tenants = [
            (str(t["tenant"]), {k: float(v) for k, v in (t.get("latency_ms") or {}).items()})
            for t in load.data.get("per_tenant", [])
            if t.get("latency_ms")
        ]
        if tenants:
            charts.append(
                {
                    "title": f"Latency per tenant — scenario {load.scenario}",
                    "caption": f"Bars span p50 to p95, whiskers reach p99, dots mark the mean; "
                    f"{min(len(tenants), 40)} slowest of {len(tenants)} tenants.",
                    "svg": latency_distribution(tenants, avg_target),
                }
            )
        series: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for point in load.data.get("throughput_series", []):
            series[str(point.get("tenant") or "all tenants")].append((float(point["t"]), float(point["rps"])))
        if series:
            names = sorted(series, key=lambda name: (name != "all tenants", name))[:MAX_SERIES]
            charts.append(
                {
                    "title": f"Throughput over time — scenario {load.scenario}",
                    "caption": "Requests per second"
                    + (f"; {MAX_SERIES} of {len(series)} series shown" if len(series) > MAX_SERIES else ""),
                    "svg": line_chart(
                        [(n, series[n]) for n in names],
                        "seconds since start",
                        "requests/s",
                        f"Throughput over time, scenario {load.scenario}",
                    ),
                }
            )
        resources = load.data.get("resources", [])
        cpu = [(float(p["t"]), float(p["cpu_percent"])) for p in resources if "cpu_percent" in p]
        memory = [(float(p["t"]), float(p["memory_percent"])) for p in resources if "memory_percent" in p]
        if cpu or memory:
            charts.append(
                {
                    "title": f"CPU and memory — scenario {load.scenario}",
                    "caption": "Share of the machine used by the application's processes.",
                    "svg": line_chart(
                        [s for s in (("CPU %", cpu), ("memory %", memory)) if s[1]],
                        "seconds since start",
                        "percent",
                        f"CPU and memory, scenario {load.scenario}",
                        (cpu_target, f"CPU target {cpu_target:g}%") if cpu_target else None,
                    ),
                }
            )
    points = sorted((p for lr in load_results for p in lr.data.get("scalability", [])), key=lambda p: p["tenants"])
    rps = [(float(p["tenants"]), float(p["rps"])) for p in points if "rps" in p]
    p95 = [(float(p["tenants"]), float(p["p95_ms"])) for p in points if "p95_ms" in p]
    avg = [(float(p["tenants"]), float(p["avg_ms"])) for p in points if "avg_ms" in p]
    if rps:
        charts.append(
            {
                "title": "Scalability — throughput against tenant count",
                "caption": "Total requests per second as more tenants are active at once.",
                "svg": line_chart([("requests/s", rps)], "concurrent tenants", "requests/s", "Throughput by tenants"),
            }
        )
    if p95 or avg:
        charts.append(
            {
                "title": "Scalability — latency against tenant count",
                "caption": "Latency as more tenants are active at once.",
                "svg": line_chart(
                    [s for s in (("p95 ms", p95), ("mean ms", avg)) if s[1]],
                    "concurrent tenants",
                    "milliseconds",
                    "Latency by tenants",
                    (avg_target, f"mean target {avg_target:g} ms") if avg_target else None,
                ),
            }
        )
    return charts


def _tenant_rows(load_results: list[LoadResult]) -> list[dict[str, Any]]:
    rows = []
    for load in load_results:
        for tenant in load.data.get("per_tenant", []):
            rows.append({"scenario": load.scenario, **tenant})
    return sorted(rows, key=lambda r: float(r.get("rps", 0.0)))[:50]


def render_html(report: Report) -> str:
    matrix = report.matrix
    leaking = sorted(((a, v, n - b, n) for (a, v), (n, b) in matrix.cells.items() if n > b), key=lambda item: -item[2])
    context = {
        "r": report,
        "verdict": str(report.decision.verdict),
        "verdict_text": VERDICT_TEXT[str(report.decision.verdict)],
        "layers": _layers(report),
        "attack_classes": report.findings_by_attack(),
        "heatmap": heatmap(matrix) if matrix.tenants else None,
        "leaking": leaking[:20],
        "leaking_total": len(leaking),
        "charts": _performance(report.load_results, report),
        "tenant_rows": _tenant_rows(report.load_results),
        "not_assessed": [r for r in report.results if r.status in ("not_assessed", "error")],
        "not_applicable": [r for r in report.results if r.status == "not_applicable"],
        "blocking": [p for p in report.problems if p.blocking],
        "warnings": [p for p in report.problems if not p.blocking],
        "targets": report.provenance["targets"],
        "csp": CSP,
        "css": _css(),
        "print_script": Markup(PRINT_SCRIPT),  # noqa: S704 - a constant, hashed into the CSP
        "severities": SEVERITIES,
        "m": {row.key: row for row in report.metrics},
    }
    return _environment().get_template("report.html.j2").render(context)
