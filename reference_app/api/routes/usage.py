"""The caller's tenant: its plan's limits and what it uses of them."""

from __future__ import annotations

from fastapi import APIRouter

from reference_app import limits
from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES
from reference_app.models import Usage, UsageMeter

router = APIRouter(prefix="/v1", tags=["usage"], responses=PROBLEM_RESPONSES)


@router.get("/usage", operation_id="getUsage")
async def get_usage(ctx: TenantDep) -> Usage:
    async with ctx.session() as session:
        used = await limits.usage(session)
    plan = ctx.plan_limits
    return Usage(
        plan=ctx.plan,  # type: ignore[arg-type]
        notes=UsageMeter(used=used.notes, limit=plan.notes),
        attachment_bytes=UsageMeter(used=used.attachment_bytes, limit=plan.attachment_bytes),
        requests_per_second=plan.rate,
        request_burst=plan.burst,
    )
