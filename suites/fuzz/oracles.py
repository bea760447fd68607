"""Judging one fuzzed response: schemathesis' built-in checks, then ours.

Ours are the tenant oracles schemathesis cannot have, since it knows a single identity:

- *foreign markers*: the response carries another tenant's canary or an id another tenant's
  calls produced (API-CANARY-ORACLE; on a collection read also API-LIST-FILTER);
- *hygiene*: the response carries a stack trace, a driver or SQL error, or a secret
  (API-ERROR-HYGIENE) that the request did not put there itself.

Each judgement yields :class:`Finding`s (failed attempts, with evidence) and the keys of the
checks that held (passed attempts), so the records count both.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from schemathesis import Response
from schemathesis.core.failures import Failure, FailureGroup

from suites.fuzz.aliases import AnyCase
from suites.fuzz.exchanges import FuzzExchange
from tenantprobe.canaries import CanaryRegistry
from tenantprobe.oracles import internal_markers, referenced_values
from tenantprobe.probe import Exchange
from tenantprobe.redact import redact_text

ROBUSTNESS = "API-FUZZ-ROBUSTNESS"
CONFORMANCE = "API-SPEC-CONFORMANCE"
AUTH = "AUTH-JWT-VALIDATION"
CANARY = "API-CANARY-ORACLE"
LIST_FILTER = "API-LIST-FILTER"
HYGIENE = "API-ERROR-HYGIENE"
READ = "API-CROSS-TENANT-READ"
WRITE = "API-CROSS-TENANT-WRITE"
NESTED = "API-NESTED-PARENT"
EXISTENCE = "API-EXISTENCE-ORACLE"
MASS_ASSIGNMENT = "API-MASS-ASSIGNMENT"
CONTROLS = (
    ROBUSTNESS,
    CONFORMANCE,
    AUTH,
    CANARY,
    LIST_FILTER,
    HYGIENE,
    READ,
    WRITE,
    NESTED,
    EXISTENCE,
    MASS_ASSIGNMENT,
)

# schemathesis' built-in response checks, by name; ignored_auth is added per operation, a few times.
BUILTIN_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
IGNORED_AUTH = "ignored_auth"
# schemathesis' stable failure codes ("a code is never renumbered or reused")
_IGNORED_AUTH_CODE = "ST401"  # ignored_auth, which counts 401 and 403 both as a denial
_SERVER_ERROR_CODES = frozenset({"ST101", "ST102"})
_UNDOCUMENTED_STATUS_CODE = "ST103"
# ST103-ST111: the response differs from the document (status, content type, headers, schema, parsing);
# a documentation defect, kept apart from robustness and isolation findings.
_CONFORMANCE_CODES = frozenset(f"ST{number}" for number in range(103, 112))
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")

PassKey = tuple[str, str | None, str | None]  # control, attacker, victim


@dataclass
class Finding:
    control: str
    summary: str
    exchanges: list[Exchange]
    attacker: str | None = None
    victim: str | None = None
    expected: Any = None
    actual: Any = None


@dataclass
class Verdict:
    """What one fuzzed case established: findings, and the checks that held."""

    findings: list[Finding] = field(default_factory=list)
    passed: set[PassKey] = field(default_factory=set)
    history: list[FuzzExchange] = field(default_factory=list)  # earlier steps that set the failing one up
    operation: str = ""  # the operation of the case judged

    def check(self, ok: bool, finding: Finding) -> None:
        if ok:
            self.passed.add((finding.control, finding.attacker, finding.victim))
        else:
            self.findings.append(finding)

    def extend(self, other: Verdict) -> None:
        self.findings += other.findings
        self.passed |= other.passed


class Provenance:
    """Which tenant's calls produced an id: another tenant's id in a response is a leak like a canary."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}  # id (lower case) -> tenant slug

    def register(self, slug: str, values: Iterable[str]) -> None:
        for value in values:
            self.owners.setdefault(value.lower(), slug)

    def register_body(self, slug: str, body: Any) -> None:
        self.register(slug, _UUID.findall(str(body)) if body is not None else [])

    def foreign(self, text: str, viewer: str | None) -> dict[str, str]:
        return {
            found: owner
            for found in {match.lower() for match in _UUID.findall(text)}
            if (owner := self.owners.get(found)) is not None and owner != viewer
        }


def foreign_markers(
    exchange: FuzzExchange, canaries: CanaryRegistry, provenance: Provenance, *, collection: bool
) -> Verdict:
    """Another tenant's canaries or ids in anything the actor received (minus what it sent itself)."""
    verdict = Verdict()
    viewer = exchange.actor.tenant.slug if exchange.actor.tenant else None
    seen = exchange.text + "\n" + "\n".join(f"{k}: {v}" for k, v in exchange.response_headers.items())
    sent = exchange.sent_text.lower()
    leaked: dict[str, list[str]] = {}
    for marker, owner in {**canaries.foreign(seen, viewer), **provenance.foreign(seen, viewer)}.items():
        if marker.lower() not in sent:
            leaked.setdefault(owner, []).append(marker)
    # Ids of any type (7, "INV-0042") in id-bearing fields, by the isolation suite's rule for short ones.
    body = exchange.json()
    if isinstance(body, dict | list):
        references = [(path, value) for path, value in referenced_values(body) if value.lower() not in sent]
        for field_path, owner in canaries.foreign_ids(references, viewer, httpx.URL(exchange.url).path).items():
            leaked.setdefault(owner, []).append(field_path)
    attacker = viewer or exchange.actor.name
    for owner, markers in sorted(leaked.items()):
        summary = (
            f"{exchange.actor.name} received {len(markers)} canaries or ids of {owner} "
            f"from {exchange.method} {exchange.url} ({exchange.status})"
        )
        verdict.check(False, Finding(CANARY, summary, [exchange], attacker, owner))
        if collection:
            verdict.check(False, Finding(LIST_FILTER, summary, [exchange], attacker, owner))
    if collection and not leaked:
        verdict.check(True, Finding(LIST_FILTER, "", []))
    return verdict


def _secrets(text: str) -> list[str]:
    """The spans :func:`redact_text` would remove: tokens, keys, DSN passwords, ``password=`` pairs."""
    redacted = redact_text(text)
    if redacted == text:
        return []
    matcher = difflib.SequenceMatcher(None, text, redacted, autojunk=False)
    return [text[i1:i2] for tag, i1, i2, _, _ in matcher.get_opcodes() if tag in ("replace", "delete") and i2 > i1]


def hygiene(exchange: FuzzExchange, echoed: Iterable[str]) -> Verdict:
    """No stack trace, driver/SQL error or secret in a response, unless the fuzzer itself sent that text.

    ``echoed`` is everything the run sent so far: a note titled ``password=x`` read back later is an
    echo, not a leak.
    """
    verdict = Verdict()
    seen = exchange.text + "\n" + "\n".join(exchange.response_headers.values())
    found = internal_markers(seen) + _secrets(seen)
    sent = [exchange.sent_text, *echoed] if found else []
    revealed = [redact_text(m)[:80] for m in found if not any(m in text for text in sent)]
    verdict.check(
        not revealed,
        Finding(
            HYGIENE,
            f"{exchange.method} {exchange.url} as {exchange.actor.name} answered {exchange.status} "
            f"revealing {revealed}",
            [exchange],
        ),
    )
    return verdict


def _failures(group: FailureGroup) -> Iterator[Failure]:
    for failure in group.exceptions:
        if isinstance(failure, FailureGroup):
            yield from _failures(failure)
        else:
            yield failure


def builtin(
    case: AnyCase, response: Response, exchange: FuzzExchange, transport: dict[str, Any], *, auth_probe: bool
) -> Verdict:
    """schemathesis' checks: no 5xx, documented status and content type, response schema; ignored_auth."""
    from schemathesis import checks as registry

    names = [*BUILTIN_CHECKS, *([IGNORED_AUTH] if auth_probe else [])]
    verdict = Verdict()
    try:
        case.validate_response(
            response,
            checks=[getattr(registry, name) for name in names],
            headers=transport.get("headers"),
            transport_kwargs=transport,
        )
    except FailureGroup as group:
        failures = list(_failures(group))
        codes = {failure.code for failure in failures}
        for failure in failures:
            if failure.code == _UNDOCUMENTED_STATUS_CODE and codes & _SERVER_ERROR_CODES:
                continue  # a 5xx is also undocumented: one finding, not two
            control = _control_of(failure.code)
            summary = f"{case.operation.label} as {exchange.actor.name}: {failure.title} ({exchange.status})"
            verdict.check(False, Finding(control, summary, [exchange], expected=failure.message[:1000] or None))
    failed = {finding.control for finding in verdict.findings}
    verdict.passed |= {
        (control, None, None) for control in (ROBUSTNESS, CONFORMANCE, *([AUTH] if auth_probe else []))
    } - {(control, None, None) for control in failed}
    return verdict


def _control_of(code: str) -> str:
    if code == _IGNORED_AUTH_CODE:
        return AUTH
    return CONFORMANCE if code in _CONFORMANCE_CODES else ROBUSTNESS
