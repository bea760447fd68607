"""Who the caller is, as the service sees it."""

from __future__ import annotations

from fastapi import APIRouter

from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES
from reference_app.dal import tenants
from reference_app.models import Me, RecentNote, TenantPublic
from reference_app.recent import RecentNotes

router = APIRouter(prefix="/v1", tags=["me"], responses=PROBLEM_RESPONSES)


@router.get("/me", operation_id="getMe", response_model_exclude_none=True)
async def get_me(ctx: TenantDep) -> Me:
    async with ctx.session(single=True) as session:
        tenant = await tenants.current(session)
    return Me(subject=ctx.actor, tenant=TenantPublic.model_validate(tenant), roles=sorted(ctx.roles))


@router.get("/me/recent-notes", operation_id="listMyRecentNotes")
async def list_my_recent_notes(ctx: TenantDep) -> list[RecentNote]:
    """The notes the caller opened last, newest first (kept per tenant and user, in this process)."""
    await ctx.ensure_active()
    recent: RecentNotes = ctx.state.recent_notes
    return recent.of(ctx.tenant_id, ctx.actor)
