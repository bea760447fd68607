"""W3C Trace Context: carry one trace id from the API into the internal services it calls."""

from __future__ import annotations

import re
import secrets

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def parse(value: str | None) -> tuple[str, str] | None:
    """(trace id, parent span id) of a valid ``traceparent``, else None (all-zero ids are invalid)."""
    match = _TRACEPARENT.match((value or "").strip())
    if match is None or set(match.group(1)) == {"0"} or set(match.group(2)) == {"0"}:
        return None
    return match.group(1), match.group(2)


def child(traceparent: str | None) -> str:
    """A ``traceparent`` for an outgoing call: the incoming trace continued, or a new one."""
    parsed = parse(traceparent)
    trace_id = parsed[0] if parsed else secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


def trace_id(traceparent: str | None) -> str | None:
    parsed = parse(traceparent)
    return parsed[0] if parsed else None
