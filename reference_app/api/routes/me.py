"""Who the caller is, as the service sees it."""

from __future__ import annotations

from fastapi import APIRouter

from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES
from reference_app.dal import tenants
from reference_app.models import Me, TenantPublic

router = APIRouter(prefix="/v1", tags=["me"], responses=PROBLEM_RESPONSES)


@router.get("/me", operation_id="getMe")
async def get_me(ctx: TenantDep) -> Me:
    async with ctx.session() as session:
        tenant = await tenants.current(session)
    return Me(subject=ctx.actor, tenant=TenantPublic.model_validate(tenant), roles=sorted(ctx.principal.roles))
