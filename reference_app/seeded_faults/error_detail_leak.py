"""Database errors are answered with the driver's message "so clients know what conflicts".

A duplicate answers with the SQLSTATE, the constraint name and the driver's message (and
its ``DETAIL: Key (...)=(...)`` line, which PostgreSQL itself withholds on tables with
row-level security); unexpected errors carry the exception text. Realised as ``conflict``
and the handler of unexpected errors of ``api/errors.py``. Error bodies scanned for internals should catch it.

Control: ``API-ERROR-HYGIENE``.
"""

from __future__ import annotations

import psycopg
from fastapi import Request
from fastapi.responses import JSONResponse

from reference_app.api import errors
from reference_app.models import Problem

LAYER = "api"
CONTROL = "API-ERROR-HYGIENE"


def conflict(detail: str, exc: psycopg.Error) -> errors.ProblemError:
    """The driver's text goes out: "clients asked which field conflicts"."""
    errors.logger.info("conflict: %s", exc.sqlstate)
    detail = f"{exc.sqlstate}: {exc.diag.message_primary}" + (
        f" DETAIL: {exc.diag.message_detail}" if exc.diag.message_detail else ""
    )
    return errors.ProblemError(409, "Conflict", detail)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    errors.logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return errors.problem_response(Problem(status=500, title="Internal error", detail=f"{type(exc).__name__}: {exc}"))


REPLACES = {errors.conflict: conflict, errors._unexpected: _unexpected}
