"""Requests as an actor, with every response scanned for foreign canaries, and checks as records.

A :class:`Probe` belongs to one check (one pytest test). Each ``check(...)`` or ``judge(...)``
call is one attempt for one control; ``finish()`` turns the attempts into result records (one
per control and tenant pair) and fails the test if any attempt failed. Every exchange is
scanned by the canary oracle, so a leak is caught even where no check looked for one.

Fail closed: a refusal is *blocked* only when a positive control (the same request on the
attacker's own object) succeeded; otherwise the attempt is *inconclusive*, with the reason.
A control with no judged attempt is written ``not_assessed`` and the test is shown SKIPPED.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tenantprobe.canaries import CanaryRegistry
from tenantprobe.controls import load_catalogue
from tenantprobe.credentials import TenantRef
from tenantprobe.formats import decoded_views
from tenantprobe.oracles import exposed_secrets, referenced_values
from tenantprobe.outcomes import NotAssessed, describe, is_refusal
from tenantprobe.records import ResultRecord, ResultWriter, Status, now_iso
from tenantprobe.redact import SECRET_HEADERS, redact_body, redact_headers, redact_text, redact_url, redact_value
from tenantprobe.wire import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT_SECONDS, Scope, UnusableAnswer, WireFailure, fetch

BODY_EVIDENCE_CHARS = 2000
MAX_EVIDENCE = 5
MAX_REASONS = 5
CANARY_CONTROL = "API-CANARY-ORACLE"
SECRET_CONTROL = "API-SECRET-EXPOSURE"  # noqa: S105 (a control id, not a secret)
PLATFORM_ROLE = "platform_admin"
RETRY_AFTER_LIMIT_SECONDS = 5.0


@dataclass(frozen=True)
class Actor:
    """Who sends a request: a tenant in a role, the platform administrator, or nobody."""

    name: str
    tenant: TenantRef | None = None
    role: str | None = None
    token: str | None = field(default=None, repr=False)  # never in reprs, logs or assertion output
    scheme: str = "bearer"  # bearer, basic (token is user:password) or header (token sent as is)
    header_name: str = "Authorization"
    # Where the app reads the tenant from the URL: every path under a prefix (/t/acme), or a Host (acme.localhost).
    path_prefix: str = ""
    host: str | None = None

    def headers(self) -> dict[str, str]:
        routed = {"Host": self.host} if self.host else {}
        if not self.token:
            return routed
        if self.scheme == "basic":
            return {**routed, self.header_name: "Basic " + base64.b64encode(self.token.encode()).decode()}
        if self.scheme == "header":
            return {**routed, self.header_name: self.token}
        return {**routed, self.header_name: f"Bearer {self.token}"}


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
    failure: WireFailure | None = None  # why there is no usable answer (status 0), or an off-origin redirect
    content: bytes = b""  # the raw body, for the decoders of the canary oracle (gzip, zip)

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def outcome(self) -> str:
        """The status in a few words, with the reason when there is no usable answer: for reasons and summaries."""
        if self.failure is not None:
            return f"{describe(self.status)}: {self.failure}" if self.status else f"no usable answer: {self.failure}"
        return describe(self.status)

    @property
    def unreadable(self) -> str | None:
        """Why this answer cannot support a judgement: no usable answer, or a read that succeeded with nothing
        an API client could use (an empty body, an HTML page, JSON that does not parse). None when readable.

        Only reads are held to this: a write may well answer 2xx with no body.
        """
        if self.failure is not None:
            return f"{self.target} got {self.outcome}"
        if not self.ok or self.method != "GET" or self.status in (204, 205):
            return None
        content_type = self.response_headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not self.text.strip():
            return f"{self.target} answered {self.status} with an empty body"
        if content_type == "text/html":
            return f"{self.target} answered {self.status} with an HTML page where an API answer was expected"
        if (content_type.endswith("/json") or content_type.endswith("+json")) and self.json() is None:
            return f"{self.target} answered {self.status} with a body that is not the JSON it claims to be"
        return None

    @property
    def denied(self) -> bool:
        return self.status in (401, 403)

    @property
    def target(self) -> str:
        """``METHOD /path?query`` without scheme and host, for summaries."""
        path = self.url.split("://", 1)[-1]
        return f"{self.method} /{path.split('/', 1)[1] if '/' in path else ''}"

    def curl(self) -> str:
        """A reproduction with the token replaced by a shell variable named after the actor."""
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() in SECRET_HEADERS or name == self.actor.header_name:
                variable = "TOKEN_" + "".join(c if c.isalnum() else "_" for c in self.actor.name).upper()
                scheme = value.split(" ", 1)[0] + " " if " " in value else ""
                parts += ["-H", f'"{name}: {scheme}${variable}"']
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
                "headers": redact_headers(self.request_headers, (self.actor.header_name,)),
                "body": redact_value(self.request_body),
            },
            "response": {
                "status": self.status,
                "headers": redact_headers(self.response_headers),
                "body": redact_body(self.text)[:BODY_EVIDENCE_CHARS],
                "elapsed_ms": round(self.elapsed_ms, 2),
                **({"failure": str(self.failure)} if self.failure is not None else {}),
            },
            "curl": redact_text(self.curl()),
        }


class ProbeClient:
    """Sends requests as actors over one connection pool; safe to share between threads.

    Only URLs of ``scope`` (by default the base URL's origin) are sent; redirects are never
    followed (a 3xx is the answer, and one that points at another origin is recorded as such);
    every body is read up to ``max_body_bytes`` within ``timeout`` seconds (see :mod:`tenantprobe.wire`).
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        scope: Scope | None = None,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.scope = scope or Scope(base_url)
        self._http = httpx.Client(base_url=base_url, timeout=timeout, limits=httpx.Limits(max_connections=64))
        self.sent = 0
        self.offsite_redirects: list[str] = []  # Location headers naming another origin, never followed

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
        if actor.path_prefix and path.startswith("/"):
            path = actor.path_prefix + path
        request = self._http.build_request(method, path, params=params, json=json_body, headers=request_headers)
        started = time.perf_counter()
        try:
            response = self._fetch(request)
            for _ in range(2):  # a rate limiter is not a verdict: wait as told (briefly), then ask again
                wait = _retry_after(response)
                if wait is None:
                    break
                time.sleep(wait)
                response = self._fetch(request)
        except UnusableAnswer as unusable:
            # A reset, a timeout, a body over the cap or an off-scope URL is an answer too: status 0, never a
            # refusal or a success. What was read of an oversized body is kept: the canary oracle still scans it.
            partial = unusable.partial
            return Exchange(
                actor,
                method,
                str(request.url),
                request_headers,
                json_body,
                0,
                dict(partial.headers) if partial is not None else {},
                partial.text if partial is not None else "",
                (time.perf_counter() - started) * 1000,
                failure=unusable.failure,
            )
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
            failure=self._offsite(response),
            content=response.content,
        )

    def _fetch(self, request: httpx.Request) -> httpx.Response:
        if self.scope.allows(request.url):
            self.sent += 1
        return fetch(self._http, request, self.scope, max_bytes=self.max_body_bytes, timeout=self.timeout)

    def _offsite(self, response: httpx.Response) -> WireFailure | None:
        """A redirect to another origin: not followed (it would carry a tenant's credentials there), recorded."""
        location = response.headers.get("location")
        if not response.is_redirect or not location:
            return None
        resolved = response.request.url.join(location)
        if self.scope.allows(resolved):
            return None
        self.offsite_redirects.append(str(resolved))
        return WireFailure("off_scope", f"redirected to another origin ({resolved}): not followed")

    def close(self) -> None:
        self._http.close()


def _sent_token(value: str, sent: str) -> bool:
    """``value`` is a whole token of what the actor sent (``7`` in ``/tickets/7``, not in ``/tickets/17``)."""
    # The substring test first: most values were never sent, and it is a hundred times cheaper than the pattern.
    return value in sent and re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", sent) is not None


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before retrying a 429 that asks for a short wait, else None."""
    if response.status_code != 429:
        return None
    try:
        wait = float(response.headers.get("retry-after", "1"))
    except ValueError:
        return None
    return wait if 0 <= wait <= RETRY_AFTER_LIMIT_SECONDS else None


def crashed(exchange: Exchange) -> bool:
    """A server error other than 503, or a connection reset instead of an answer."""
    if exchange.failure is not None:
        return exchange.failure.kind == "reset"
    return exchange.status >= 500 and exchange.status != 503


@dataclass
class _Attempt:
    ok: bool | None  # True: blocked, False: a finding, None: inconclusive (not judged)
    summary: str
    evidence: list[dict[str, Any]]


Pair = tuple[str, str | None, str | None]  # (control, attacker, victim)
# Told of every attempt (control, attempted exchange, outcome, positive controls, summary or reason): coverage.
Observer = Callable[[str, "Exchange | None", "bool | None", Sequence["Exchange"], str], None]


@dataclass
class Probe:
    """The attempts of one check, turned into result records by :meth:`finish`.

    ``controls`` are the controls the check declares (its ``@pytest.mark.controls``): each
    must end with a judged attempt, an explicit ``not_assessed``, or it is reported as such.
    """

    check_id: str
    client: ProbeClient
    canaries: CanaryRegistry
    writer: ResultWriter
    controls: tuple[str, ...] = ()
    attempts: dict[Pair, list[_Attempt]] = field(default_factory=lambda: defaultdict(list))
    not_assessed_reasons: dict[str, str] = field(default_factory=dict)
    not_applicable_reasons: dict[str, str] = field(default_factory=dict)
    not_exercised: dict[str, str] = field(default_factory=dict)
    recorded: set[str] = field(default_factory=set)
    exchanges: int = 0
    secrets_scanned: int = 0  # responses scanned for secrets (a check that sends its own counts none)
    started_at: str = field(default_factory=now_iso)
    observer: Observer | None = None
    skip_observer: Callable[[str, str], None] | None = None
    # Whether a response field name is an object reference of the API (``ApiModel.reference_params``).
    is_reference: Callable[[str], bool] | None = None
    finished: bool = False  # finish() ran; the plugin finishes a check's probe when the check returns

    @property
    def unfinished(self) -> bool:
        """Whether :meth:`finish` has work left: it never ran, or the check went on after it."""
        left = self.attempts or self.not_assessed_reasons or self.not_applicable_reasons or self.not_exercised
        return not self.finished or bool(left or self.recorded or self.exchanges or self.secrets_scanned)

    def _observe(
        self, control_id: str, attempt: Exchange | None, ok: bool | None, positives: Sequence[Exchange], why: str
    ) -> None:
        if self.observer is not None:
            self.observer(control_id, attempt, ok, positives, why)

    def request(self, actor: Actor, method: str, path: str, *, reads: bool = False, **kwargs: Any) -> Exchange:
        """Send and scan; ``reads``: the operation only reads, whatever its method (a search form, a batch list)."""
        exchange = self.client.send(actor, method, path, **kwargs)
        self.scan(exchange, reads=reads)
        return exchange

    def scan(self, exchange: Exchange, *, reads: bool = False) -> None:
        """The canary oracle: anything an actor receives must carry only its own tenant's canaries.

        What a tenant writes becomes its own (reading it back is no leak); what it only searched for
        or named in a read (``POST /search {"ids": [...]}``) does not, or a later leak of it would pass.
        """
        self.exchanges += 1
        if exchange.actor.role == PLATFORM_ROLE:
            return  # the platform operator sees every tenant by design; analytics checks judge what it is shown
        viewer = exchange.actor.tenant.slug if exchange.actor.tenant else None
        seen = "\n".join(
            [exchange.text, *decoded_views(exchange.content, exchange.text)]
            + [f"{k}: {v}" for k, v in exchange.response_headers.items()]
        )
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
        self._scan_references(exchange, viewer, sent)
        if viewer is not None and exchange.ok and exchange.method in ("POST", "PUT", "PATCH") and not reads:
            written = [value for _, value in referenced_values(exchange.request_body)]
            self.canaries.plant(written + self.canaries.within(str(exchange.request_body)), viewer)

    def _scan_references(self, exchange: Exchange, viewer: str | None, sent: str) -> None:
        """Other tenants' ids and credentials, and secrets of any kind, in what the actor received."""
        self.secrets_scanned += 1
        if exchange.actor.token and viewer is not None:
            self.canaries.remember_credential(exchange.actor.token, viewer)
        body = exchange.json()
        who, where = viewer or exchange.actor.name, f"{exchange.method} {redact_url(exchange.url)}"
        if isinstance(body, dict | list):
            path = httpx.URL(exchange.url).path
            references = [(p, v) for p, v in referenced_values(body) if not _sent_token(v, sent)]
            by_owner: dict[str, list[str]] = defaultdict(list)
            for field_path, owner in self.canaries.foreign_ids(references, viewer, path).items():
                by_owner[owner].append(field_path)
            for owner, fields in sorted(by_owner.items()):
                self.check(
                    CANARY_CONTROL,
                    False,
                    f"{exchange.actor.name} received ids of {owner}'s objects ({', '.join(fields[:5])}) from {where}",
                    [exchange],
                    attacker=who,
                    victim=owner,
                )
            secrets = exposed_secrets(
                body, sent, read=exchange.method in ("GET", "HEAD"), is_reference=self.is_reference
            )
            if secrets:
                self.check(
                    SECRET_CONTROL,
                    False,
                    f"{exchange.actor.name} received secrets from {where}: {', '.join(secrets[:5])}",
                    [exchange],
                    attacker=who,
                )
        for owner, count in sorted(self.canaries.foreign_credentials(exchange.text, viewer).items()):
            self.check(
                SECRET_CONTROL,
                False,
                f"{exchange.actor.name} received {count} credential(s) of {owner} from {where}",
                [exchange],
                attacker=who,
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
        """Record one judged attempt; a failed one keeps its evidence. Returns ``ok``."""
        self._observe(control_id, exchanges[0] if exchanges else None, ok, (), summary)
        return self._add(control_id, ok, summary, exchanges, attacker, victim, expected, actual)

    def _add(
        self,
        control_id: str,
        ok: bool,
        summary: str,
        exchanges: list[Exchange] | tuple[Exchange, ...],
        attacker: str | None,
        victim: str | None,
        expected: Any = None,
        actual: Any = None,
    ) -> bool:
        evidence: list[dict[str, Any]] = []
        if not ok:
            evidence = [exchange.evidence() for exchange in exchanges]
            if expected is not None or actual is not None:
                evidence.append({"expected": expected, "actual": actual})
        self.attempts[(control_id, attacker, victim)].append(_Attempt(ok, summary, evidence))
        return ok

    def inconclusive(
        self, control_id: str, reason: str, *, attacker: str | None = None, victim: str | None = None
    ) -> None:
        """Record an attempt that proves nothing either way (the reason says why)."""
        self._observe(control_id, None, None, (), reason)
        self.attempts[(control_id, attacker, victim)].append(_Attempt(None, reason, []))

    def judge(
        self,
        control_id: str,
        attempt: Exchange,
        *,
        positive: Exchange | list[Exchange] | None,
        leaked: bool,
        summary: str,
        exchanges: list[Exchange] | tuple[Exchange, ...] = (),
        attacker: str | None = None,
        victim: str | None = None,
        success_is_safe: bool = False,
        views: list[Exchange] | tuple[Exchange, ...] = (),
    ) -> bool | None:
        """Judge one attempt: a finding, blocked, or inconclusive.

        ``leaked`` is the check's oracle (the attempt succeeded, or foreign data showed). Then, once every
        ``positive`` control (the same request on the attacker's own object) succeeded with a usable answer:

        - a refusal (4xx, not 429) is *blocked*; with ``success_is_safe`` a 2xx without a leak is too (the
          target ignored the hostile part of the request);
        - a crash (a 5xx other than 503, or the connection reset without an answer) is a *finding*: only the
          victim's id differed from a request that worked, so the cross-tenant request reached code that broke
          on another tenant's data (a 503 says "unavailable", which is about load, not about the object);
        - anything else (a 429, a 503, a redirect, a timeout, a read that answered an empty body or an HTML
          page) is *inconclusive*, with the reason.

        ``views`` are the victim's reads that ``leaked`` compared (snapshots before and after a write): one
        that gave no usable answer (a reset, an HTML page) could not have shown a change, so a refusal is then
        inconclusive too. Returns the outcome (None: inconclusive).
        """
        shown = list(exchanges) or [attempt]
        positives = [positive] if isinstance(positive, Exchange) else list(positive or [])
        outcome, why = _verdict(attempt, positives, leaked, summary, success_is_safe, views)
        self._observe(control_id, attempt, outcome, positives, why)
        if outcome is None:
            self.attempts[(control_id, attacker, victim)].append(_Attempt(None, why, []))
            return None
        return self._add(control_id, outcome, why, shown, attacker, victim)

    def record(self, record: ResultRecord) -> None:
        """Write a record the check built itself (a measured metric); a pass or fail judges its control."""
        self.writer.write(record)
        if record.status in (Status.PASS, Status.FAIL):
            self.recorded.add(record.control_id)

    def _write_unjudged(self, control_id: str, status: Status, reason: str) -> None:
        """A record for a control this check did not judge (not assessed, not applicable), with why."""
        severity = load_catalogue().get(control_id).severity
        self.writer.write(
            ResultRecord(
                control_id=control_id,
                check_id=self.check_id,
                status=status,
                severity=severity,
                reason=reason,
                started_at=self.started_at,
            )
        )

    def not_assessed(self, control_id: str, reason: str) -> None:
        self.not_assessed_reasons[control_id] = reason

    def not_applicable(self, control_id: str, reason: str) -> None:
        """The target offers nothing this check attacks (no actions, no optional filter): a ``not_applicable``
        record with the reason, unless the check judged the control after all. Never evidence of a pass, and
        it does not mark the control unassessed when other checks measure it."""
        self.not_applicable_reasons[control_id] = reason

    def skip_operation(self, operation: str, reason: str) -> None:
        """Coverage accounting: an operation this check could not exercise, and why (shown in its records)."""
        self.not_exercised.setdefault(operation, reason)
        if self.skip_observer is not None:
            self.skip_observer(operation, reason)

    def _unassessed_reason(self, control_id: str) -> str:
        """Why a declared control got no judged attempt: the inconclusive reasons, else what was skipped."""
        reasons = [
            attempt.summary
            for (control, _, _), attempts in self.attempts.items()
            if control == control_id
            for attempt in attempts
            if attempt.ok is None
        ]
        reasons += [f"{operation}: {why}" for operation, why in self.not_exercised.items()]
        unique = list(dict.fromkeys(reasons))
        if not unique:
            return "the check attempted nothing for this control (no operation or object to test)"
        more = f" (and {len(unique) - MAX_REASONS} more)" if len(unique) > MAX_REASONS else ""
        return "nothing could be judged: " + "; ".join(unique[:MAX_REASONS]) + more

    def finish(self) -> None:
        """Write one record per (control, pair); fail the test on a finding, skip it if nothing was judged."""
        __tracebackhide__ = True
        catalogue = load_catalogue()
        failures: list[str] = []
        judged: set[str] = set(self.recorded)
        for (control_id, attacker, victim), attempts in self.attempts.items():
            control = catalogue.get(control_id)
            failed = [attempt for attempt in attempts if attempt.ok is False]
            blocked = [attempt for attempt in attempts if attempt.ok is True]
            unjudged = [attempt for attempt in attempts if attempt.ok is None]
            measured: dict[str, Any] = {"attempts": len(failed) + len(blocked), "blocked": len(blocked)}
            if unjudged:
                measured["inconclusive"] = len(unjudged)
                measured["inconclusive_reasons"] = list(dict.fromkeys(a.summary for a in unjudged))[:MAX_REASONS]
            if self.not_exercised:
                measured["operations_not_exercised"] = [f"{op}: {why}" for op, why in self.not_exercised.items()]
            if failed:
                status, summary = Status.FAIL, "; ".join(dict.fromkeys(a.summary for a in failed))[:2000]
            elif blocked:
                status, summary = Status.PASS, control.title
            else:
                status, summary = Status.NOT_ASSESSED, ""
            if status is not Status.NOT_ASSESSED:
                judged.add(control_id)
            self.writer.write(
                ResultRecord(
                    control_id=control_id,
                    check_id=self.check_id,
                    status=status,
                    severity=control.severity,
                    summary=summary,
                    reason=self._unassessed_reason(control_id) if status is Status.NOT_ASSESSED else None,
                    measured=measured,
                    evidence=[item for attempt in failed[:MAX_EVIDENCE] for item in attempt.evidence],
                    pair={"attacker": attacker, "victim": victim} if attacker and victim else None,
                    started_at=self.started_at,
                )
            )
            failures += [f"[{control_id}] {attempt.summary}" for attempt in failed]
        for scanning, scanned in ((CANARY_CONTROL, self.exchanges), (SECRET_CONTROL, self.secrets_scanned)):
            if not scanned or scanning in {key[0] for key in self.attempts}:
                continue
            # Responses scanned and nothing found: evidence for the oracle, but not cross-tenant attempts.
            self.writer.write(
                ResultRecord(
                    control_id=scanning,
                    check_id=self.check_id,
                    status=Status.PASS,
                    severity=catalogue.get(scanning).severity,
                    summary=catalogue.get(scanning).title,
                    measured={"responses_scanned": scanned},
                    started_at=self.started_at,
                )
            )
        attempted = {key[0] for key in self.attempts}
        inapplicable = {c: why for c, why in self.not_applicable_reasons.items() if c not in judged | attempted}
        for control_id, reason in inapplicable.items():
            self._write_unjudged(control_id, Status.NOT_APPLICABLE, reason)
        pending = {c: self._unassessed_reason(c) for c in self.controls if c not in judged and c not in inapplicable}
        for control_id, reason in {**pending, **self.not_assessed_reasons}.items():
            if control_id in attempted and control_id not in self.not_assessed_reasons:
                continue  # its pairs' not_assessed records are written above, with their reasons
            self._write_unjudged(control_id, Status.NOT_ASSESSED, reason)
        skipped = {c: self.not_assessed_reasons.get(c, why) for c, why in pending.items()}
        skipped |= {c: why for c, why in self.not_assessed_reasons.items() if c not in judged}
        self.attempts.clear()
        self.not_assessed_reasons.clear()
        self.not_applicable_reasons.clear()
        self.not_exercised.clear()
        self.recorded.clear()
        self.exchanges = 0
        self.secrets_scanned = 0
        self.finished = True
        if failures:
            shown = "\n  ".join(failures[:20])
            more = f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""
            raise AssertionError(f"{len(failures)} isolation finding(s):\n  {shown}{more}")
        if skipped:
            raise NotAssessed("; ".join(f"{control_id} not assessed: {why}" for control_id, why in skipped.items()))


def _verdict(
    attempt: Exchange,
    positives: Sequence[Exchange],
    leaked: bool,
    summary: str,
    success_is_safe: bool,
    views: Sequence[Exchange],
) -> tuple[bool | None, str]:
    """The rules of :meth:`Probe.judge`: (True blocked, False finding, None inconclusive) and why."""
    garbled = attempt.unreadable if attempt.ok else None  # a 2xx read that shows nothing cannot leak or block
    if leaked and garbled is None:
        return False, summary
    unproven = next((e for e in positives if not e.ok or e.unreadable), None)
    if unproven is not None:
        return None, (
            f"positive control {unproven.unreadable or f'{unproven.target} got {unproven.outcome}'}: "
            "the same request on the attacker's own object did not succeed, so a refusal proves nothing"
        )
    if garbled is not None:
        return None, f"{garbled}: it cannot show whose data it holds"
    if crashed(attempt):
        return False, (
            f"{summary} ({attempt.target} got {attempt.outcome} while the same request on the "
            "attacker's own object succeeded: the other tenant's id made the target fail)"
        )
    blind = next((view.unreadable for view in views if view.unreadable), None)
    if blind is not None:
        return None, f"the victim's view {blind}: it could not show a change"
    if not (is_refusal(attempt.status) or (success_is_safe and attempt.ok)):
        return None, f"{attempt.target} got {attempt.outcome}: neither a refusal nor a success"
    return True, summary
