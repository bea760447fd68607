"""What the harness accepts on the wire: only the profile's origins, bounded bodies, a whole-request deadline.

A target under test is not trusted. It may answer a body of gigabytes, drip one byte a second,
reset the connection, or point a ``Location`` header, an OpenAPI ``servers`` entry or a link in
a body at another host. None of that may crash a run, hang it, or make the harness send a
request (with a tenant's credentials) anywhere the profile did not name. So every request goes
through :func:`fetch`: the URL must belong to the :class:`Scope`, redirects are never followed,
the body is read up to ``max_bytes`` and within ``timeout`` seconds, and anything else ends as
a :class:`WireFailure` that says why.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import httpx

from tenantprobe.errors import TargetError

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 15.0
_DEFAULT_PORTS = {"http": 80, "https": 443}

FailureKind = Literal["reset", "timeout", "unreachable", "too_large", "off_scope", "transport"]


@dataclass(frozen=True)
class WireFailure:
    """Why a request got no usable answer; ``kind`` is what judgements branch on, ``detail`` what people read."""

    kind: FailureKind
    detail: str

    def __str__(self) -> str:
        return self.detail


class UnusableAnswer(TargetError):
    """The target gave no usable answer (see ``failure``); the message says why."""

    def __init__(self, failure: WireFailure, partial: httpx.Response | None = None) -> None:
        super().__init__(failure.detail)
        self.failure = failure
        self.partial = partial  # for a body over the cap: the status, headers and the first max_bytes


def origin(url: str | httpx.URL) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in: ``http://h`` and ``http://h:80`` are one."""
    parsed = httpx.URL(url)
    port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)
    return parsed.scheme, parsed.host.lower(), port


def show(where: tuple[str, str, int]) -> str:
    return f"{where[0]}://{where[1]}:{where[2]}"


class Scope:
    """The origins a run may send requests to: those the profile names, never ones a response names.

    >>> Scope("http://127.0.0.1:8000").allows("http://127.0.0.1:8000/api")
    True
    """

    def __init__(self, *urls: str | None) -> None:
        self.origins = frozenset(origin(url) for url in urls if url and "://" in url)

    def allows(self, url: str | httpx.URL) -> bool:
        try:
            return origin(url) in self.origins
        except httpx.InvalidURL:
            return False

    def refusal(self, url: str | httpx.URL) -> WireFailure:
        allowed = ", ".join(sorted(show(o) for o in self.origins))
        return WireFailure(
            "off_scope",
            f"{url} is outside the profile's origins ({allowed}): not sent. tenantprobe sends requests only to "
            "base_url and the profile's token or identity-step URLs, whatever the target's documents or answers say",
        )


def _failure(exc: httpx.TransportError) -> WireFailure:
    """A transport error as a failure kind: a reset after connecting is the target's answer, a refusal is not."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return WireFailure("unreachable", f"no connection ({text})")
    if isinstance(exc, httpx.TimeoutException):
        return WireFailure("timeout", f"timed out ({text})")
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return WireFailure("reset", f"connection reset or closed without an answer ({text})")
    return WireFailure("transport", f"transport error ({text})")


def fetch(
    client: httpx.Client,
    request: httpx.Request,
    scope: Scope,
    *,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> httpx.Response:
    """Send ``request`` if it is in scope and read its answer within the bounds; redirects are returned as they are.

    Raises :class:`UnusableAnswer` for an off-scope URL, a transport error, a body over ``max_bytes``
    (decoded, so a compressed bomb is cut too) or an answer not complete ``timeout`` seconds after sending.
    """
    if not scope.allows(request.url):
        raise UnusableAnswer(scope.refusal(request.url))
    deadline = time.monotonic() + timeout
    try:
        response = client.send(request, stream=True, follow_redirects=False)
    except httpx.TransportError as exc:
        raise UnusableAnswer(_failure(exc)) from None
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise UnusableAnswer(_too_large(max_bytes, f"declared {declared} bytes"), _partial(response, b""))
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise UnusableAnswer(_too_large(max_bytes, "more"), _partial(response, bytes(body[:max_bytes])))
            if time.monotonic() > deadline:  # a read timeout is per chunk: a slow drip never trips it
                raise UnusableAnswer(
                    WireFailure("timeout", f"answer not complete after {timeout:g} s (the target drips its body)")
                )
    except httpx.TransportError as exc:
        raise UnusableAnswer(_failure(exc)) from None
    finally:
        response.close()
    return _partial(response, bytes(body))


def _too_large(max_bytes: int, seen: str) -> WireFailure:
    return WireFailure(
        "too_large",
        f"body larger than the {max_bytes}-byte cap ({seen}); only the first {max_bytes} bytes were read "
        "(raise max_body_bytes in the profile if the target's answers are that large)",
    )


def _partial(response: httpx.Response, body: bytes) -> httpx.Response:
    """A read response holding ``body`` as decoded bytes (so the encoding headers no longer apply)."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in ("content-encoding",)]
    complete = httpx.Response(response.status_code, headers=headers, content=body, request=response.request)
    complete.read()
    return complete


@cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every one-off client: building one reads the CA bundle (30 ms of CPU)."""
    return httpx.create_ssl_context()


def call(
    scope: Scope,
    method: str,
    url: str,
    *,
    client: httpx.Client | None = None,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    **kwargs: Any,
) -> httpx.Response:
    """One bounded request outside a ProbeClient: an identity step, a token endpoint, the OpenAPI document.

    ``kwargs`` go to :meth:`httpx.Client.build_request` (``json``, ``data``, ``headers``, ``params``).
    """
    if client is None:
        with httpx.Client(timeout=timeout, verify=_tls()) as own:
            return fetch(own, own.build_request(method, url, **kwargs), scope, max_bytes=max_bytes, timeout=timeout)
    request = client.build_request(method, url, **kwargs)
    return fetch(client, request, scope, max_bytes=max_bytes, timeout=timeout)
