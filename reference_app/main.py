"""The FastAPI application: settings → database pools, token verifier, cache, limits, metrics, routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from reference_app import faults
from reference_app.api import errors
from reference_app.api.middleware import RateLimitHeadersMiddleware
from reference_app.api.routes import (
    activity,
    admin,
    attachments,
    comments,
    exports,
    health,
    me,
    members,
    metrics,
    note_actions,
    notes,
    tags,
    usage,
)
from reference_app.auth import SigningKey, TokenSettings, TokenVerifier
from reference_app.cache import create_cache
from reference_app.config import Settings
from reference_app.dal import serving_database
from reference_app.internal.client import SearchClient
from reference_app.limits import RateLimiter
from reference_app.metrics import Metrics, MetricsMiddleware
from reference_app.recent import RecentNotes

logger = logging.getLogger("reference_app")


def create_app(settings: Settings | None = None) -> FastAPI:
    faults.install("API", logger)  # seeded faults (FAULTS.md): none unless REFERENCE_APP_FAULTS names some
    settings = faults.connection_settings("API", settings or Settings.from_env())
    signing_key = SigningKey.from_pem(settings.jwt_private_key_file.read_bytes())
    token_settings = TokenSettings(
        issuer=settings.jwt_issuer, audience=settings.jwt_audience, hs256_secret=settings.jwt_hs256_secret
    )
    database = serving_database(settings)
    # Several API processes without Redis keep no note cache: one process's copy would outlive an
    # update another process made (a cache of 0 entries forgets every note as it stores it).
    entries = settings.cache_max_entries if settings.api_workers == 1 or settings.redis_url else 0
    cache = create_cache(settings.redis_url, entries, settings.cache_ttl_seconds)
    search_client = (
        SearchClient(settings.internal_url, signing_key, settings.jwt_issuer, settings.internal_token_ttl_seconds)
        if settings.internal_url
        else None
    )
    metrics_registry = Metrics(settings.metrics_max_tenants)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.open()
        yield
        if search_client is not None:
            await search_client.aclose()
        await cache.close()
        await database.close()

    app = FastAPI(title="PAKE knowledge engine (multi-tenant reference app)", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.database = database
    app.state.signing_key = signing_key
    app.state.token_settings = token_settings
    app.state.verifier = TokenVerifier([signing_key], token_settings)
    app.state.cache = cache
    app.state.recent_notes = RecentNotes()
    app.state.search_client = search_client
    app.state.limiter = RateLimiter(settings.plans)
    app.state.metrics = metrics_registry
    errors.install(app)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(
        errors.BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        overrides={"/v1/admin/imports": settings.max_import_bytes},
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics_registry)
    for module in (
        health,
        me,
        notes,
        note_actions,
        comments,
        activity,
        attachments,
        tags,
        members,
        exports,
        usage,
        admin,
        metrics,
    ):
        app.include_router(module.router)
    faults.configure(app)

    @app.get("/.well-known/jwks.json", tags=["auth"], operation_id="jwks")
    async def jwks() -> dict[str, Any]:
        return signing_key.jwks()

    return app
