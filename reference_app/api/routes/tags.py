"""Tags of the caller's tenant."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response
from psycopg.errors import UniqueViolation

from reference_app.api import errors
from reference_app.api.audited import delete_audited
from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES
from reference_app.api.links import created
from reference_app.dal import audit, tags
from reference_app.models import TagCreate, TagPublic

router = APIRouter(prefix="/v1/tags", tags=["tags"], responses=PROBLEM_RESPONSES)


@router.get("", operation_id="listTags")
async def list_tags(ctx: TenantDep) -> list[TagPublic]:
    async with ctx.session() as session:
        rows = await tags.list_all(session)
    return [TagPublic.model_validate(row) for row in rows]


@router.post("", status_code=201, operation_id="createTag", openapi_extra=created("tag_id", "deleteTag"))
async def create_tag(ctx: TenantDep, payload: TagCreate) -> TagPublic:
    ctx.require("member")
    try:
        async with ctx.session() as session:
            row = await tags.create(session, payload.name)
            await audit.record(session, actor=ctx.actor, action="create", entity="tag", entity_id=row["id"])
    except UniqueViolation as exc:
        raise errors.conflict("A tag of this name already exists.", exc) from None
    return TagPublic.model_validate(row)


@router.delete("/{tag_id}", status_code=204, operation_id="deleteTag")
async def delete_tag(ctx: TenantDep, tag_id: UUID) -> Response:
    ctx.require("member")
    await delete_audited(ctx, "tag", tag_id, lambda session: tags.delete(session, tag_id))
    # Cached notes list their tags: drop the tenant's cached notes rather than hunt for them.
    await ctx.state.cache.clear_tenant(ctx.tenant_id)
    return Response(status_code=204)
