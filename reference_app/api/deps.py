"""Request dependencies: who is calling, for which tenant, with which role.

The verified token is the only source of tenant context. A tenant id that arrives any other
way (``X-Tenant-ID`` header, ``tenant_id`` query parameter) and disagrees with the token is
rejected rather than ignored, so a confused client learns of its mistake; request bodies
cannot carry one at all (the models forbid unknown fields).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from reference_app.api.errors import ProblemError
from reference_app.auth import InvalidToken, Principal, TokenVerifier
from reference_app.dal import Database, TenantSession
from reference_app.dal import tenants as tenant_rows

ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}
TENANT_HEADER = "x-tenant-id"
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, headers=_UNAUTHORIZED)


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Send a bearer token in the Authorization header.")
    return token.strip()


# Declares the bearer scheme in the OpenAPI document (so clients and fuzzers know which
# operations need a token); parsing and every failure answer stay ours, as problem+json.
_bearer_scheme = HTTPBearer(auto_error=False, description="JWT with a tenant_id claim (or a platform_admin role)")


def current_principal(request: Request, _: Annotated[object, Depends(_bearer_scheme)] = None) -> Principal:
    verifier: TokenVerifier = request.app.state.verifier
    try:
        return verifier.verify(_bearer_token(request))
    except InvalidToken as exc:
        raise unauthorized(exc.reason) from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True)
class TenantContext:
    """A tenant principal and the way to open its unit of work."""

    principal: Principal
    tenant_id: UUID
    database: Database

    @property
    def actor(self) -> str:
        return self.principal.subject

    def has_role(self, minimum: str) -> bool:
        return max((ROLE_RANK.get(role, -1) for role in self.principal.roles), default=-1) >= ROLE_RANK[minimum]

    def require(self, minimum: str) -> None:
        if not self.has_role(minimum):
            raise ProblemError(403, "Forbidden", f"This action needs the {minimum} role or higher.")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[TenantSession]:
        """The tenant's transaction; a tenant that is unknown or suspended is refused here."""
        async with self.database.tenant(self.tenant_id) as session:
            tenant = await tenant_rows.current(session)
            if tenant is None or tenant["status"] != "active":
                raise unauthorized("The token's tenant is not active.")
            yield session


def tenant_context(request: Request, principal: CurrentPrincipal) -> TenantContext:
    if principal.tenant_id is None:
        raise ProblemError(403, "Forbidden", "This endpoint needs a tenant token.")
    claimed = [request.headers.get(TENANT_HEADER), request.query_params.get("tenant_id")]
    if any(value is not None and value.strip().lower() != str(principal.tenant_id) for value in claimed):
        raise ProblemError(403, "Forbidden", "The tenant named in the request is not the token's tenant.")
    return TenantContext(principal, principal.tenant_id, request.app.state.database)


TenantDep = Annotated[TenantContext, Depends(tenant_context)]


def platform_admin(request: Request, principal: CurrentPrincipal) -> Database:
    if not principal.is_platform_admin:
        raise ProblemError(403, "Forbidden", "This endpoint needs a platform administrator token.")
    database: Database = request.app.state.database
    return database


PlatformDep = Annotated[Database, Depends(platform_admin)]
