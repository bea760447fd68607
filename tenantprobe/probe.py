"""Requests as an actor, with every response scanned for foreign canaries, and checks as records.

A :class:`Probe` belongs to one check (one pytest test). Each ``check(...)`` call is one
attempt for one control; ``finish()`` turns the attempts into result records (one per
control and tenant pair) and fails the test if any attempt failed. Every exchange is
scanned by the canary oracle, so a leak is caught even where no check looked for one.
"""

from __future__ import annotations

import json
import shlex
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tenantprobe.canaries import CanaryRegistry
from tenantprobe.controls import load_catalogue
from tenantprobe.credentials import TenantRef
from tenantprobe.records import ResultRecord, ResultWriter, Status, now_iso
from tenantprobe.redact import redact_body, redact_headers, redact_text, redact_url, redact_value

BODY_EVIDENCE_CHARS = 2000
MAX_EVIDENCE = 5
CANARY_CONTROL = "API-CANARY-ORACLE"


@dataclass(frozen=True)
class Actor:
    """Who sends a request: a tenant in a role, the platform administrator, or nobody."""

    name: str
    tenant: TenantRef | None = None
    role: str | None = None
    token: str | None = field(default=None, repr=False)  # never in reprs, logs or assertion output

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class Exchange:
    actor: Actor
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    response_headers: dict[str, str]
    text: str
    elapsed_ms: float

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def denied(self) -> bool:
        return self.status in (401, 403)

    def curl(self) -> str:
        """A reproduction with the token replaced by a shell variable named after the actor."""
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() == "authorization":
                variable = "TOKEN_" + "".join(c if c.isalnum() else "_" for c in self.actor.name).upper()
                value = f"Bearer ${variable}"
                parts += ["-H", f'"{name}: {value}"']
            else:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body is not None:
            parts += [
                "-H",
                "'Content-Type: application/json'",
                "--data",
                shlex.quote(json.dumps(self.request_body)),
            ]
        return " ".join(parts)

    def evidence(self) -> dict[str, Any]:
        """The exchange for a record, redacted before the body is cut (a cut can drop a key's END line)."""
        return {
            "actor": self.actor.name,
            "request": {
                "method": self.method,
                "url": redact_url(self.url),
                "headers": redact_headers(self.request_headers),
                "body": redact_value(self.request_body),
            },
            "response": {
                "status": self.status,
                "headers": redact_headers(self.response_headers),
                "body": redact_body(self.text)[:BODY_EVIDENCE_CHARS],
                "elapsed_ms": round(self.elapsed_ms, 2),
            },
            "curl": redact_text(self.curl()),
        }


class ProbeClient:
    """Sends requests as actors over one connection pool; safe to share between threads."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=timeout, limits=httpx.Limits(max_connections=64))
        self.sent = 0

    def send(
        self,
        actor: Actor,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        request_headers = {**actor.headers(), **(headers or {})}
        started = time.perf_counter()
        response = self._http.request(method, path, params=params, json=json_body, headers=request_headers)
        self.sent += 1
        return Exchange(
            actor=actor,
            method=method,
            url=str(response.request.url),
            request_headers=request_headers,
            request_body=json_body,
            status=response.status_code,
            response_headers=dict(response.headers),
            text=response.text,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def close(self) -> None:
        self._http.close()


@dataclass
class _Attempt:
    ok: bool
    summary: str
    evidence: list[dict[str, Any]]


@dataclass
class Probe:
    """The attempts of one check, turned into result records by :meth:`finish`."""

    check_id: str
    client: ProbeClient
    canaries: CanaryRegistry
    writer: ResultWriter
    attempts: dict[tuple[str, str | None, str | None], list[_Attempt]] = field(
        default_factory=lambda: defaultdict(list)
    )
    not_assessed_reasons: dict[str, str] = field(default_factory=dict)
    not_exercised: dict[str, str] = field(default_factory=dict)
    exchanges: int = 0
    started_at: str = field(default_factory=now_iso)

    def request(self, actor: Actor, method: str, path: str, **kwargs: Any) -> Exchange:
        exchange = self.client.send(actor, method, path, **kwargs)
        self.scan(exchange)
        return exchange

    def scan(self, exchange: Exchange) -> None:
        """The canary oracle: anything an actor receives must carry only its own tenant's canaries."""
        self.exchanges += 1
        viewer = exchange.actor.tenant.slug if exchange.actor.tenant else None
        seen = exchange.text + "\n" + "\n".join(f"{k}: {v}" for k, v in exchange.response_headers.items())
        # Canaries the actor itself sent (a search term, an attacked id) prove nothing when echoed.
        sent = exchange.url + json.dumps(exchange.request_body) + " ".join(exchange.request_headers.values())
        foreign = {c: owner for c, owner in self.canaries.foreign(seen, viewer).items() if c not in sent}
        for owner in sorted(set(foreign.values())):
            self.check(
                CANARY_CONTROL,
                False,
                f"{exchange.actor.name} received canaries of {owner} from {exchange.method} {exchange.url}",
                [exchange],
                attacker=viewer or exchange.actor.name,
                victim=owner,
            )

    def check(
        self,
        control_id: str,
        ok: bool,
        summary: str,
        exchanges: list[Exchange] | tuple[Exchange, ...] = (),
        *,
        attacker: str | None = None,
        victim: str | None = None,
        expected: Any = None,
        actual: Any = None,
    ) -> bool:
        """Record one attempt; a failed one keeps its evidence. Returns ``ok``."""
        evidence: list[dict[str, Any]] = []
        if not ok:
            evidence = [exchange.evidence() for exchange in exchanges]
            if expected is not None or actual is not None:
                evidence.append({"expected": expected, "actual": actual})
        self.attempts[(control_id, attacker, victim)].append(_Attempt(ok, summary, evidence))
        return ok

    def not_assessed(self, control_id: str, reason: str) -> None:
        self.not_assessed_reasons[control_id] = reason

    def skip_operation(self, operation: str, reason: str) -> None:
        """Coverage accounting: an operation this check could not exercise, and why (shown in its records)."""
        self.not_exercised.setdefault(operation, reason)

    def finish(self) -> None:
        """Write one record per (control, pair) and fail the test on any failed attempt."""
        __tracebackhide__ = True
        catalogue = load_catalogue()
        failures = []
        if self.exchanges and not any(key[0] == CANARY_CONTROL for key in self.attempts):
            self.attempts[(CANARY_CONTROL, None, None)].append(_Attempt(True, "", []))
        for (control_id, attacker, victim), attempts in self.attempts.items():
            control = catalogue.get(control_id)
            failed = [attempt for attempt in attempts if not attempt.ok]
            measured: dict[str, Any]
            if control_id == CANARY_CONTROL and attacker is None:
                measured = {
                    "attempts": self.exchanges,
                    "blocked": self.exchanges,
                    "responses_scanned": self.exchanges,
                }
            else:
                measured = {"attempts": len(attempts), "blocked": len(attempts) - len(failed)}
            if self.not_exercised:
                measured["operations_not_exercised"] = [f"{op}: {why}" for op, why in self.not_exercised.items()]
            self.writer.write(
                ResultRecord(
                    control_id=control_id,
                    check_id=self.check_id,
                    status=Status.FAIL if failed else Status.PASS,
                    severity=control.severity,
                    summary="; ".join(dict.fromkeys(a.summary for a in failed))[:2000] if failed else control.title,
                    measured=measured,
                    evidence=[item for attempt in failed[:MAX_EVIDENCE] for item in attempt.evidence],
                    pair={"attacker": attacker, "victim": victim} if attacker and victim else None,
                    started_at=self.started_at,
                )
            )
            failures += [f"[{control_id}] {attempt.summary}" for attempt in failed]
        for control_id, reason in self.not_assessed_reasons.items():
            self.writer.write(
                ResultRecord(
                    control_id=control_id,
                    check_id=self.check_id,
                    status=Status.NOT_ASSESSED,
                    severity=catalogue.get(control_id).severity,
                    reason=reason,
                    started_at=self.started_at,
                )
            )
        self.attempts.clear()
        self.not_assessed_reasons.clear()
        self.not_exercised.clear()
        if failures:
            shown = "\n  ".join(failures[:20])
            more = f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""
            raise AssertionError(f"{len(failures)} isolation finding(s):\n  {shown}{more}")
