"""A schemathesis response as a tenantprobe exchange: evidence with an exact, redacted curl reproduction.

The request is taken from what went on the wire (the prepared request), not from the case, so
the reproduction also shows what schemathesis' negative mode removed or mangled (a missing
``Authorization`` header, an unparsable body). Tokens become shell variables named after the
actor, as in every other tenantprobe reproduction.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from schemathesis import Response

from tenantprobe.probe import Actor, Exchange
from tenantprobe.redact import redact_text

# Transport noise: neither needed to reproduce a request nor part of what the fuzzer chose.
_NOISE_HEADERS = frozenset(
    {"user-agent", "accept-encoding", "accept", "connection", "content-length", "x-schemathesis-testcaseid"}
)


@dataclass
class FuzzExchange(Exchange):
    raw_body: str | None = None  # the body as sent, which need not be JSON in negative mode

    def curl(self) -> str:
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() == "authorization" and self.actor.token and value == f"Bearer {self.actor.token}":
                variable = "TOKEN_" + "".join(c if c.isalnum() else "_" for c in self.actor.name).upper()
                parts += ["-H", f'"{name}: Bearer ${variable}"']
            else:
                parts += ["-H", shlex.quote(f"{name}: {redact_text(value)}")]
        if self.raw_body is not None:
            parts += ["--data-binary", shlex.quote(self.raw_body)]
        return " ".join(parts)

    @property
    def sent_text(self) -> str:
        """Everything the caller put into the request: what it receives back proves nothing when echoed."""
        return self.url + "\n" + (self.raw_body or "") + "\n" + "\n".join(self.request_headers.values())


def effective_actor(actor: Actor, headers: dict[str, str]) -> Actor:
    """Who the server saw: negative cases may drop or replace the actor's credentials."""
    sent = next((value for name, value in headers.items() if name.lower() == "authorization"), None)
    if actor.token and sent == f"Bearer {actor.token}":
        return actor
    return Actor("anonymous" if sent is None else "invalid-credentials")


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def from_response(actor: Actor, response: Response) -> FuzzExchange:
    request = response.request
    headers = {name: _text(value) for name, value in request.headers.items() if name.lower() not in _NOISE_HEADERS}
    body = request.body
    raw = _text(body) if isinstance(body, str | bytes) else None  # schemathesis never streams a body
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return FuzzExchange(
        actor=effective_actor(actor, headers),
        method=str(request.method),
        url=str(request.url),
        request_headers=headers,
        request_body=parsed,
        status=response.status_code,
        response_headers={name: ", ".join(values) for name, values in response.headers.items()},
        text=response.content.decode(response.encoding or "utf-8", errors="replace"),
        elapsed_ms=response.elapsed * 1000,
        raw_body=raw,
    )
