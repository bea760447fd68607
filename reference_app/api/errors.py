"""RFC 9457 problem+json for every error, and nothing in them a client should not see.

No SQLSTATE, constraint name, ``DETAIL`` value, stack trace or echoed input leaves the
service: unexpected errors become a generic 500, validation errors name only the offending
fields. A database that cannot serve now (down, restarting, every connection taken) is a 503
with ``Retry-After``, and a tenant that held its whole share of connections meanwhile gets the
429: both say "try again", which a 500 would not.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_app.dal import TenantBusyError
from reference_app.limits import QuotaExceeded
from reference_app.models import Problem

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("reference_app")

# Documented on every route so that clients (and schema fuzzers) know the error shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": title}
    for status, title in {
        400: "Bad request",
        401: "Missing or invalid token",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        422: "Invalid input",
        429: "Rate limit exceeded",
        503: "Database unavailable; retry after Retry-After seconds",
    }.items()
}


class ProblemError(Exception):
    """Raise to answer with a problem document (after ``delay`` seconds, during which the request holds nothing)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        *,
        quota: str | None = None,
        limit: int | None = None,
        used: int | None = None,
        delay: float = 0.0,
    ):
        super().__init__(title)
        self.problem = Problem(status=status, title=title, detail=detail, quota=quota, limit=limit, used=used)
        self.headers = headers
        self.delay = delay


def not_found(what: str) -> ProblemError:
    """The same answer for a missing row and for another tenant's row: nothing tells them apart."""
    return ProblemError(404, "Not found", f"No {what} with this id exists.")


def conflict(detail: str, exc: psycopg.Error) -> ProblemError:
    """A constraint violation as a 409 that names nothing internal (the driver's text goes to the log)."""
    logger.info("conflict: %s", exc.sqlstate)
    return ProblemError(409, "Conflict", detail)


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    if exc.delay:  # the request's transaction has ended: waiting costs no CPU and no connection
        await asyncio.sleep(exc.delay)
    return problem_response(exc.problem, exc.headers)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed"}
    problem = Problem(status=exc.status_code, title=titles.get(exc.status_code, "Error"))
    return problem_response(problem, dict(exc.headers) if exc.headers else None)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]} for error in exc.errors()
    ]
    return problem_response(Problem(status=422, title="Invalid input", errors=errors))


async def _data(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot hold (a NUL character in text, a number out of range) is the client's
    invalid input, not a server error; like every database error it is answered without the driver's text."""
    assert isinstance(exc, psycopg.DataError)
    logger.info("invalid input on %s %s: %s", request.method, request.url.path, exc.sqlstate or "client-side")
    return problem_response(Problem(status=422, title="Invalid input"))


async def _quota(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuotaExceeded)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.reject(getattr(request.state, "tenant_id", None), exc.quota)
    problem = Problem(
        status=403,
        title="Quota exceeded",
        detail=f"The {exc.plan} plan allows {exc.limit} {exc.quota.replace('_', ' ')}; this tenant uses {exc.used}.",
        quota=exc.quota,
        limit=exc.limit,
        used=exc.used,
    )
    return problem_response(problem)


# Seconds a client should wait: about how long the pool takes to reconnect once PostgreSQL is back.
RETRY_AFTER_SECONDS = 2


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Connection lost, server shutting down or starting, no connection within the wait, a
    deadlock or serialization failure (psycopg's OperationalError covers them all): the request
    may succeed if sent again. The log gets the class and SQLSTATE, never the driver's text."""
    assert isinstance(exc, psycopg.OperationalError)
    logger.warning(
        "database unavailable on %s %s: %s %s", request.method, request.url.path, type(exc).__name__, exc.sqlstate or ""
    )
    problem = Problem(status=503, title="Service unavailable", detail="The database is unavailable; try again.")
    return problem_response(problem, {"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _tenant_busy(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TenantBusyError)
    tenant_id = getattr(request.state, "tenant_id", None)
    logger.info("tenant %s over its connection share on %s %s", tenant_id, request.method, request.url.path)
    problem = Problem(
        status=429,
        title="Too many concurrent requests",
        detail="This tenant's other requests hold its share of the database; retry after Retry-After seconds.",
    )
    # Held like a rate-limit refusal (see ProblemError.delay): a client retrying at once is slowed.
    await asyncio.sleep(request.app.state.settings.throttle_delay_ms / 1000)
    return problem_response(problem, {"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(Problem(status=500, title="Internal error"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(QuotaExceeded, _quota)
    app.add_exception_handler(ProblemError, _problem)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(psycopg.DataError, _data)
    app.add_exception_handler(psycopg.OperationalError, _unavailable)
    app.add_exception_handler(TenantBusyError, _tenant_busy)
    app.add_exception_handler(Exception, _unexpected)


class BodyLimitMiddleware:
    """Answers 413 before reading more than ``max_bytes`` of a request body."""

    def __init__(self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.overrides.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._reject(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        response = problem_response(Problem(status=413, title="Body too large"))
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


class _BodyTooLarge(Exception):
    pass
