"""Actions on notes: merge several into a new one, duplicate one, append to one.

Each action names its notes by id, in the path or in the body, and reads them in the caller's
tenant transaction: a note of another tenant answers exactly like a note that does not exist.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES, not_found
from reference_app.dal import audit, notes
from reference_app.dal.session import Row, TenantSession
from reference_app.models import NoteAppend, NoteMerge, NotePublic

router = APIRouter(prefix="/v1/notes", tags=["notes"], responses=PROBLEM_RESPONSES)
TITLE_MAX = 200


async def _merge_sources(ctx: TenantDep, note_ids: list[UUID]) -> list[Row]:
    async with ctx.session(single=True) as session:
        return await notes.get_many(session, note_ids)


@router.post("/merge", status_code=201, operation_id="mergeNotes")
async def merge_notes(ctx: TenantDep, payload: NoteMerge) -> NotePublic:
    ctx.require("member")
    sources = await _merge_sources(ctx, payload.note_ids)
    if len(sources) != len(set(payload.note_ids)):
        raise not_found("note")
    body = "\n\n".join(row["body"] for row in sources)
    return await _create(ctx, payload.title, body, action="merge")


@router.post("/{note_id}/duplicate", status_code=201, operation_id="duplicateNote")
async def duplicate_note(ctx: TenantDep, note_id: UUID) -> NotePublic:
    ctx.require("member")
    source = await _duplicate_source(ctx, note_id)
    if source is None:
        raise not_found("note")
    return await _create(ctx, f"{source['title']} (copy)"[:TITLE_MAX], source["body"], action="duplicate")


async def _duplicate_source(ctx: TenantDep, note_id: UUID) -> Row | None:
    async with ctx.session() as session:
        return await notes.get(session, note_id)


@router.post("/{note_id}/append", operation_id="appendToNote")
async def append_to_note(ctx: TenantDep, note_id: UUID, payload: NoteAppend) -> NotePublic:
    ctx.require("member")
    async with ctx.session() as session:
        appended = await notes.append(session, note_id, payload.text)
        row = await _appended(ctx, session, note_id) if appended else None
    await ctx.state.cache.delete(ctx.tenant_id, f"note:{note_id}")
    if row is None:
        raise not_found("note")
    return NotePublic.model_validate(row)


async def _appended(ctx: TenantDep, session: TenantSession, note_id: UUID) -> Row | None:
    """The note after an append, recorded in the audit log."""
    row = await notes.get(session, note_id)
    if row is not None:
        await audit.record(session, actor=ctx.actor, action="append", entity="note", entity_id=note_id)
    return row


async def _create(ctx: TenantDep, title: str, body: str, *, action: str) -> NotePublic:
    async with ctx.session() as session:
        await ctx.check_storage(session, notes=1)
        note_id = await notes.create(session, title=title, body=body, author=ctx.actor, tags=[])
        await audit.record(session, actor=ctx.actor, action=action, entity="note", entity_id=note_id)
        row = await notes.get(session, note_id)
    assert row is not None
    return NotePublic.model_validate(row)
