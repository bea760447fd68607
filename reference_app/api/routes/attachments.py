"""Attachment metadata under a note."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from reference_app.api.audited import delete_audited
from reference_app.api.deps import ParentNote, TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES, not_found
from reference_app.api.links import created
from reference_app.dal import attachments, audit
from reference_app.models import AttachmentCreate, AttachmentPublic

router = APIRouter(prefix="/v1/notes/{note_id}/attachments", tags=["attachments"], responses=PROBLEM_RESPONSES)


@router.get("", operation_id="listAttachments")
async def list_attachments(note: ParentNote) -> list[AttachmentPublic]:
    async with note.session() as session:
        rows = await attachments.list_for_note(session, note.note_id)
    return [AttachmentPublic.model_validate(row) for row in rows]


@router.post(
    "",
    status_code=201,
    operation_id="createAttachment",
    openapi_extra=created("attachment_id", "getAttachment", "deleteAttachment", carry=("note_id",)),
)
async def create_attachment(note: ParentNote, payload: AttachmentCreate) -> AttachmentPublic:
    ctx = note.ctx
    ctx.require("member")
    async with note.session() as session:
        await ctx.check_storage(session, attachment_bytes=payload.size_bytes)
        row = await attachments.create(
            session,
            note.note_id,
            filename=payload.filename,
            content_type=payload.content_type,
            size_bytes=payload.size_bytes,
        )
        await audit.record(session, actor=ctx.actor, action="create", entity="attachment", entity_id=row["id"])
    return AttachmentPublic.model_validate(row)


@router.get("/{attachment_id}", operation_id="getAttachment")
async def get_attachment(ctx: TenantDep, note_id: UUID, attachment_id: UUID) -> AttachmentPublic:
    async with ctx.session(single=True) as session:
        row = await attachments.get(session, note_id, attachment_id)
    if row is None:
        raise not_found("attachment")
    return AttachmentPublic.model_validate(row)


@router.delete("/{attachment_id}", status_code=204, operation_id="deleteAttachment")
async def delete_attachment(ctx: TenantDep, note_id: UUID, attachment_id: UUID) -> Response:
    ctx.require("member")
    await delete_audited(
        ctx, "attachment", attachment_id, lambda session: attachments.delete(session, note_id, attachment_id)
    )
    return Response(status_code=204)
