"""The FastAPI application: settings → database pools, token verifier, routes, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from reference_app.api import errors
from reference_app.api.routes import admin, attachments, comments, health, me, members, notes, tags
from reference_app.auth import SigningKey, TokenSettings, TokenVerifier
from reference_app.config import Settings
from reference_app.dal import Database


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    signing_key = SigningKey.from_pem(settings.jwt_private_key_file.read_bytes())
    token_settings = TokenSettings(
        issuer=settings.jwt_issuer, audience=settings.jwt_audience, hs256_secret=settings.jwt_hs256_secret
    )
    database = Database(settings.database_url, settings.platform_database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.open()
        yield
        await database.close()

    app = FastAPI(title="PAKE knowledge engine (multi-tenant reference app)", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.database = database
    app.state.signing_key = signing_key
    app.state.token_settings = token_settings
    app.state.verifier = TokenVerifier([signing_key], token_settings)
    errors.install(app)
    app.add_middleware(errors.BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    for module in (health, me, notes, comments, attachments, tags, members, admin):
        app.include_router(module.router)

    @app.get("/.well-known/jwks.json", tags=["auth"], operation_id="jwks")
    async def jwks() -> dict[str, Any]:
        return signing_key.jwks()

    return app
