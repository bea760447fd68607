"""The tenant's comment feed: newest comments first, of every note or of one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES
from reference_app.dal import comments
from reference_app.models import CommentPublic

router = APIRouter(prefix="/v1/comments", tags=["comments"], responses=PROBLEM_RESPONSES)


@router.get("", operation_id="listRecentComments")
async def list_recent_comments(
    ctx: TenantDep,
    note_id: Annotated[UUID | None, Query(description="only the comments of this note")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[CommentPublic]:
    async with ctx.session() as session:
        rows = await comments.recent(session, note_id, limit)
    return [CommentPublic.model_validate(row) for row in rows]
