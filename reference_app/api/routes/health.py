"""Liveness and readiness probes."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from reference_app.api.errors import RETRY_AFTER_SECONDS

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when a pooled connection answers: not ready while PostgreSQL is down, and ready again,
    without a restart, once the pool has reconnected (this probe's own wait makes it try)."""
    try:
        async with request.app.state.database.app_pool.connection(timeout=2) as conn:
            await conn.execute("select 1")
    except psycopg.Error:
        return JSONResponse(
            {"status": "unavailable"}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    return JSONResponse({"status": "ok"})
