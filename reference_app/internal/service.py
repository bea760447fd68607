"""The internal search service: ``python -m reference_app internal --port N``.

Only the API calls it. Every call names its tenant in the path and carries a short-lived
internal token (audience ``internal``, signed by the API's key) for that same tenant, plus a
W3C ``traceparent``. A call without a token, with an expired or wrong-audience one, or for
another tenant than the token's is refused (401/403) before any query runs; the search then
runs in that tenant's unit of work, as the application role.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import Depends, FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from reference_app import faults, tracing
from reference_app.api.errors import ProblemError, install
from reference_app.auth import InvalidToken, SigningKey
from reference_app.auth.internal import InternalPrincipal, InternalTokenVerifier
from reference_app.config import Settings
from reference_app.dal import notes, serving_database
from reference_app.dal import tenants as tenant_rows
from reference_app.models import NotePublic

logger = logging.getLogger("reference_app.internal")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(min_length=1, max_length=200)
    limit: int = Field(default=20, ge=1, le=100)


class SearchResult(BaseModel):
    items: list[NotePublic]


def _principal(request: Request, tenant_id: UUID) -> InternalPrincipal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProblemError(401, "Unauthorized", "An internal token is required.", {"WWW-Authenticate": "Bearer"})
    verifier: InternalTokenVerifier = request.app.state.verifier
    try:
        principal = verifier.verify(token.strip())
    except InvalidToken as exc:
        raise ProblemError(401, "Unauthorized", exc.reason, {"WWW-Authenticate": "Bearer"}) from None
    if principal.tenant_id != tenant_id:
        raise ProblemError(403, "Forbidden", "The token is for another tenant than the call names.")
    return principal


InternalCaller = Annotated[InternalPrincipal, Depends(_principal)]


def create_internal_app(settings: Settings | None = None) -> FastAPI:
    faults.install("internal", logger)
    settings = faults.connection_settings("internal", settings or Settings.from_env())
    key = SigningKey.from_pem(settings.jwt_private_key_file.read_bytes())
    database = serving_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.open()
        yield
        await database.close()

    app = FastAPI(title="PAKE internal search service", version="1.0.0", lifespan=lifespan, openapi_url=None)
    app.state.verifier = InternalTokenVerifier(key, settings.jwt_issuer)
    install(app)
    faults.configure(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/internal/v1/tenants/{tenant_id}/search")
    async def search(
        caller: InternalCaller, tenant_id: UUID, payload: SearchRequest, request: Request, response: Response
    ) -> SearchResult:
        traceparent = request.headers.get("traceparent")
        response.headers["traceparent"] = tracing.child(traceparent)
        logger.info(
            "search for tenant %s by %s trace=%s", caller.tenant_id, caller.service, tracing.trace_id(traceparent)
        )
        async with database.tenant(caller.tenant_id) as session:
            tenant = await tenant_rows.current(session)
            if tenant is None or tenant["status"] != "active":
                raise ProblemError(403, "Forbidden", "The tenant is not active.")
            rows = await notes.search(session, payload.q, payload.limit)
        return SearchResult(items=[NotePublic.model_validate(row) for row in rows])

    return app
