"""Generic oracles: decisions that need no knowledge of the target's domain.

- *foreign ≡ missing*: a response for another tenant's id must be indistinguishable from the
  response for an id that exists nowhere (after the ids themselves are masked);
- *differential snapshots*: what a tenant sees must not change when only another tenant acts;
  values that change on their own (timestamps, counters of the caller's own requests) are
  learned as volatile from two back-to-back snapshots and ignored;
- *error hygiene*: error bodies must not carry database or runtime internals.
"""

from __future__ import annotations

import re
from typing import Any

from tenantprobe.probe import Exchange

# Markers of internals leaking into responses: drivers, SQL errors, stack traces.
INTERNAL_MARKERS = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|psycopg|sqlalchemy|asyncpg|"
    r"SQLSTATE|violates (?:foreign key|unique|check|not-null) constraint|duplicate key value|"
    r"\bDETAIL:|Key \([^)]*\)=\(|syntax error at or near|relation \"[^\"]+\"|"
    r"column \"[^\"]+\" (?:does not exist|of relation)|\bat [\w.$]+\([\w.]+:\d+\)|"
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    re.IGNORECASE,
)


def mask(text: str, ids: list[str]) -> str:
    for value in ids:
        if value:
            text = text.replace(value, "<id>")
    return text


def looks_like_missing(foreign: Exchange, missing: Exchange, ids: list[str], again: Exchange | None = None) -> bool:
    """Status, content type and body (ids masked) are the same for the foreign and the missing id.

    With ``again`` (the missing request sent a second time), JSON fields that differ between
    the two missing answers (request ids, timestamps) are noise and are not compared.
    """
    content_type = foreign.response_headers.get("content-type", "")
    if foreign.status != missing.status or content_type != missing.response_headers.get("content-type", ""):
        return False
    if mask(foreign.text, ids) == mask(missing.text, ids):
        return True
    if again is None:
        return False
    first, second, seen = (_masked_fields(e, ids) for e in (missing, again, foreign))
    volatile = {k for k in first.keys() | second.keys() if first.get(k, ...) != second.get(k, ...)}
    return all(first.get(k, ...) == seen.get(k, ...) for k in (first.keys() | seen.keys()) - volatile)


def _masked_fields(exchange: Exchange, ids: list[str]) -> dict[str, Any]:
    body = exchange.json()
    fields = flatten(body) if body is not None else {"": exchange.text}
    return {key: mask(value, ids) if isinstance(value, str) else value for key, value in fields.items()}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": [{"b": 1}]}`` → ``{"a.0.b": 1}``; scalars at the root map to ``""``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out or {prefix: []}
    return {prefix: value}


def _snapshot(exchange: Exchange) -> dict[str, Any]:
    body = exchange.json()
    return {"<status>": exchange.status, **flatten(body if body is not None else exchange.text)}


def changed_by_others(before: tuple[Exchange, Exchange], after: tuple[Exchange, Exchange]) -> dict[str, Any]:
    """Keys stable within each pair of back-to-back snapshots but different across the other tenant's writes."""
    first, second = (_snapshot(e) for e in before)
    third, fourth = (_snapshot(e) for e in after)
    keys = set(first) | set(second) | set(third) | set(fourth)
    stable = {k for k in keys if first.get(k, ...) == second.get(k, ...) and third.get(k, ...) == fourth.get(k, ...)}
    return {
        k: {"before": second.get(k), "after": third.get(k)} for k in stable if second.get(k, ...) != third.get(k, ...)
    }


def internal_markers(text: str) -> list[str]:
    return sorted({match.group(0)[:80] for match in INTERNAL_MARKERS.finditer(text)})
