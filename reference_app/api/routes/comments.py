"""Comments under a note: the parent is checked in the same tenant transaction as the child."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from reference_app.api.audited import delete_audited
from reference_app.api.deps import ParentNote, TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES, not_found
from reference_app.api.links import created
from reference_app.dal import audit, comments
from reference_app.models import CommentCreate, CommentPublic

router = APIRouter(prefix="/v1/notes/{note_id}/comments", tags=["comments"], responses=PROBLEM_RESPONSES)


@router.get("", operation_id="listComments")
async def list_comments(note: ParentNote) -> list[CommentPublic]:
    async with note.session() as session:
        rows = await comments.list_for_note(session, note.note_id)
    return [CommentPublic.model_validate(row) for row in rows]


@router.post(
    "",
    status_code=201,
    operation_id="createComment",
    openapi_extra=created("comment_id", "getComment", "deleteComment", carry=("note_id",)),
)
async def create_comment(note: ParentNote, payload: CommentCreate) -> CommentPublic:
    ctx = note.ctx
    ctx.require("member")
    async with note.session() as session:
        row = await comments.create(session, note.note_id, body=payload.body, author=ctx.actor)
        await audit.record(session, actor=ctx.actor, action="create", entity="comment", entity_id=row["id"])
    return CommentPublic.model_validate(row)


@router.get("/{comment_id}", operation_id="getComment")
async def get_comment(ctx: TenantDep, note_id: UUID, comment_id: UUID) -> CommentPublic:
    async with ctx.session() as session:
        row = await comments.get(session, note_id, comment_id)
    if row is None:
        raise not_found("comment")
    return CommentPublic.model_validate(row)


@router.delete("/{comment_id}", status_code=204, operation_id="deleteComment")
async def delete_comment(ctx: TenantDep, note_id: UUID, comment_id: UUID) -> Response:
    ctx.require("member")
    await delete_audited(ctx, "comment", comment_id, lambda session: comments.delete(session, note_id, comment_id))
    return Response(status_code=204)
