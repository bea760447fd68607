"""Target (b) of ``isolation_overhead.py``: the reference app as a single-tenant service.

It *is* the reference app (``reference_app.main.create_app``: the same middleware, error
handlers, routers, JWT verifier and ``TenantDep`` dependency), started by
the reference app's own ``serve`` command (same settings, logging and uvicorn flags), with one
change: the ``GET /v1/notes/{note_id}`` route, replaced in place (same position in the notes
router, so routing costs the same), reads a single-tenant copy of the tables instead of going
through the tenant unit of work. So the difference between (a) and (b) is exactly the data
path of isolation:

- no tenant transaction (``BEGIN`` / ``set_config('app.tenant_id', ..., true)`` / ``COMMIT``),
- no tenant-status check and no per-tenant rate-limit charge (both in ``TenantContext.session``),
- no row-level security and no ``tenant_id`` filter: ``single_tenant.notes`` has ``id`` as
  its primary key and no policy,
- no pool ``reset`` callback; a plain autocommit ``SELECT`` on a pooled connection,
- no tenant-keyed note cache (target (a) runs with it made useless, see isolation_overhead.py).

The JWT is still verified (RS256, every claim) and the tenant-header checks of ``TenantDep``
still run: a single-tenant service would authenticate its callers too.

    REFERENCE_APP_... (as for the reference app) BENCH_SINGLE_TENANT_DSN=... \
        python benchmarks/_baseline_app.py --host 127.0.0.1 --port 8001
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from _single_tenant import SINGLE_TENANT_DSN_ENV, SINGLE_TENANT_GET, single_tenant_pool
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from reference_app import __main__ as reference_cli
from reference_app import main as reference_main_module
from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES, not_found
from reference_app.api.routes import notes
from reference_app.models import NotePublic

NOTE_PATH = "/v1/notes/{note_id}"


def _replace_note_read(pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> None:
    """Swap the notes router's ``GET /v1/notes/{note_id}`` for the single-tenant read, in place.

    Done on the router object before ``create_app`` includes it, at the same index, so the route
    is found after the same number of candidates as in the reference app.
    """
    replacement = APIRouter(prefix=notes.router.prefix, tags=["notes"], responses=PROBLEM_RESPONSES)

    @replacement.get("/{note_id}", operation_id="getNote")
    async def get_note(ctx: TenantDep, note_id: UUID) -> NotePublic:
        async with pool.connection() as conn:
            cursor = await conn.execute(SINGLE_TENANT_GET, {"id": note_id})
            row = await cursor.fetchone()
        if row is None:
            raise not_found("note")
        return NotePublic.model_validate(row)

    for index, route in enumerate(notes.router.routes):
        if isinstance(route, APIRoute) and route.path == NOTE_PATH and "GET" in (route.methods or ()):
            notes.router.routes[index] = replacement.routes[0]
            return
    raise RuntimeError(f"the reference app has no GET {NOTE_PATH} route to replace")


def _with_pool(app: FastAPI, pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> FastAPI:
    """Open and close the single-tenant pool with the app's own lifespan."""
    reference_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        await pool.open(wait=True)
        try:
            async with reference_lifespan(app) as state:
                yield state
        finally:
            await pool.close()

    app.router.lifespan_context = lifespan
    return app


def main() -> None:
    """``python -m reference_app serve ARGS``, with the single-tenant note read.

    The reference app's own command line starts the server (same settings, logging and uvicorn
    flags as target (a)); only ``create_app`` is wrapped, to open the single-tenant pool.
    """
    pool = single_tenant_pool(os.environ[SINGLE_TENANT_DSN_ENV], "single-tenant")
    _replace_note_read(pool)
    create_reference_app = reference_main_module.create_app

    def create_app(*args: Any, **kwargs: Any) -> FastAPI:
        return _with_pool(create_reference_app(*args, **kwargs), pool)

    reference_main_module.create_app = create_app
    reference_cli.main(["serve", *sys.argv[1:]])


if __name__ == "__main__":
    main()
