"""Request dependencies: who is calling, for which tenant, with which role.

The verified token is the only source of tenant context. A tenant id that arrives any other
way (``X-Tenant-ID`` header, ``tenant_id`` query parameter) and disagrees with the token is
rejected rather than ignored, so a confused client learns of its mistake; request bodies
cannot carry one at all (the models forbid unknown fields).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from reference_app import limits
from reference_app.api.errors import ProblemError, not_found
from reference_app.auth import InvalidToken, Principal, TokenVerifier
from reference_app.config import PlanLimits, Settings
from reference_app.dal import Database, Gate, TenantSession, notes
from reference_app.dal.session import Row
from reference_app.metrics import Metrics

ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}
TENANT_HEADER = "x-tenant-id"
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def _rank(roles: frozenset[str]) -> int:
    return max((ROLE_RANK.get(role, -1) for role in roles), default=-1)


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


# The dependencies are coroutines: FastAPI would run plain functions in its thread pool, a thread hop
# each per request (and the verifier's cache is not shared across threads).
async def current_principal(request: Request, _: Annotated[object, Depends(_bearer_scheme)] = None) -> Principal:
    verifier: TokenVerifier = request.app.state.verifier
    try:
        return verifier.verify(_bearer_token(request))
    except InvalidToken as exc:
        raise unauthorized(exc.reason) from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


@dataclass
class TenantContext:
    """A tenant principal and the way to open its unit of work (one per request)."""

    principal: Principal
    tenant_id: UUID
    database: Database
    request: Request | None = None
    plan: str = "free"
    _rate_checked: bool = field(default=False, repr=False)
    _minimum: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # The token's roles until the gate has read the membership (see _admit).
        self.roles: frozenset[str] = self.principal.roles

    @property
    def plan_limits(self) -> PlanLimits:
        return self._settings.plans[self.plan]

    @property
    def _settings(self) -> Settings:
        assert self.request is not None
        settings: Settings = self.request.app.state.settings
        return settings

    @property
    def state(self) -> Any:
        assert self.request is not None
        return self.request.app.state

    @property
    def actor(self) -> str:
        return self.principal.subject

    def has_role(self, minimum: str) -> bool:
        return _rank(self.roles) >= ROLE_RANK[minimum]

    def require(self, minimum: str) -> None:
        """Checked against the token now, and again against the membership once the gate has read it."""
        if not self.has_role(minimum):
            raise ProblemError(403, "Forbidden", f"This action needs the {minimum} role or higher.")
        if self._minimum is None or ROLE_RANK[minimum] > ROLE_RANK[self._minimum]:
            self._minimum = minimum

    @asynccontextmanager
    async def session(self, *, single: bool = False) -> AsyncIterator[TenantSession]:
        """The tenant's transaction; a tenant that is unknown or suspended is refused here,
        and the request is charged to the tenant's rate limit (once per request).

        The check travels with the first statement (one round trip); ``single=True`` for a unit of
        work of one read, which then also ends with it (see :meth:`Database.tenant`).
        """
        gate = self._gate()
        async with self.database.tenant(self.tenant_id, single=single, gate=gate) as session:
            yield session

    def _gate(self) -> Gate:
        """The first unit of work of a request also charges the tenant's rate limit (see limits.py)."""
        if self._rate_checked or self.request is None:
            return Gate(self.principal.subject, self._admit)
        limiter: limits.RateLimiter = self.state.limiter
        params = limiter.gate_params(self._bucket_key)
        return Gate(self.principal.subject, self._admit, limits.GATE_AND_CHARGE, params, writes=True)

    @property
    def _bucket_key(self) -> str:
        assert self.request is not None
        return limits.bucket_key(self.tenant_id, self.request.client.host if self.request.client else None)

    def _admit(self, gate: Row | None) -> None:
        """The gate's row: tenant status and plan, then the caller's membership, then the rate limit.

        A subject on the tenant's member list gets at most its listed role (a token never grants
        more than it says; the list can only take away); a removed member gets nothing; a subject
        the tenant never listed (the dev issuer's tokens) keeps its token's roles.
        """
        if gate is None or gate["status"] != "active":
            raise unauthorized("The token's tenant is not active.")
        if gate["member_role"] is not None:
            rank = min(_rank(self.principal.roles), ROLE_RANK[gate["member_role"]])
            self.roles = frozenset(role for role, value in ROLE_RANK.items() if value == rank)
        elif gate["removed"]:
            raise ProblemError(403, "Forbidden", "Your membership of this tenant was removed.")
        self.plan = gate["plan"]
        self._charge_rate_limit(gate)
        if self._minimum is not None:
            self.require(self._minimum)

    async def ensure_active(self) -> None:
        """The tenant checks of :meth:`session` for work that does not touch the database here."""
        async with self.session(single=True):
            pass

    def _charge_rate_limit(self, gate: Row) -> None:
        """The charge's outcome, which the gate's row carries on the request's first unit of work."""
        if self._rate_checked or self.request is None:
            return
        self._rate_checked = True
        limiter: limits.RateLimiter = self.state.limiter
        decision = limiter.decision(gate, self.plan)
        self.request.state.ratelimit = decision
        if not decision.allowed:
            metrics: Metrics = self.state.metrics
            metrics.reject(self.tenant_id, "requests")
            raise ProblemError(
                429,
                "Too many requests",
                f"The {self.plan} plan allows {self.plan_limits.rate:g} requests per second "
                f"(bursts of {self.plan_limits.burst}); retry after {decision.retry_after} s.",
                headers={"Retry-After": str(decision.retry_after)},
                quota="requests",
                limit=decision.limit,
                # A client that ignores Retry-After and retries at once would otherwise turn
                # its refusals into a flood of their own, queued ahead of other tenants.
                delay=self._settings.throttle_delay_ms / 1000,
            )

    async def check_storage(self, session: TenantSession, *, notes: int = 0, attachment_bytes: int = 0) -> None:
        await limits.check_storage(
            session, lambda: (self.plan, self.plan_limits), notes=notes, attachment_bytes=attachment_bytes
        )


async def tenant_context(request: Request, principal: CurrentPrincipal) -> TenantContext:
    if principal.tenant_id is None:
        raise ProblemError(403, "Forbidden", "This endpoint needs a tenant token.")
    tenant_id = principal.tenant_id
    claimed = [request.headers.get(TENANT_HEADER), request.query_params.get("tenant_id")]
    if any(value is not None and value.strip().lower() != str(tenant_id) for value in claimed):
        raise ProblemError(403, "Forbidden", "The tenant named in the request is not the token's tenant.")
    request.state.tenant_id = tenant_id
    return TenantContext(principal, tenant_id, request.app.state.database, request)


TenantDep = Annotated[TenantContext, Depends(tenant_context)]


@dataclass
class NoteScope:
    """The tenant context of a route under ``/v1/notes/{note_id}/...``: the parent note named in the path."""

    ctx: TenantContext
    note_id: UUID

    @asynccontextmanager
    async def session(self) -> AsyncIterator[TenantSession]:
        """The tenant's transaction, which first checks that the note is the tenant's: a note of another
        tenant answers 404 exactly like a missing one, and no child of it is read or written."""
        async with self.ctx.session() as session:
            if not await notes.exists(session, self.note_id):
                raise not_found("note")
            yield session


async def parent_note(ctx: TenantDep, note_id: UUID) -> NoteScope:
    return NoteScope(ctx, note_id)


ParentNote = Annotated[NoteScope, Depends(parent_note)]


async def platform_admin(request: Request, principal: CurrentPrincipal) -> Database:
    if not principal.is_platform_admin:
        raise ProblemError(403, "Forbidden", "This endpoint needs a platform administrator token.")
    request.state.platform_subject = principal.subject
    database: Database = request.app.state.database
    return database


PlatformDep = Annotated[Database, Depends(platform_admin)]
