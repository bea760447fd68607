"""Actions on notes: merge several into a new one, duplicate one, append to one.

Each action names its notes by id, in the path or in the body, and reads them in the caller's
tenant transaction: a note of another tenant answers exactly like a note that does not exist.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from reference_app import faults
from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES, not_found
from reference_app.dal import audit, notes
from reference_app.dal.session import Row
from reference_app.models import NoteAppend, NoteMerge, NotePublic

router = APIRouter(prefix="/v1/notes", tags=["notes"], responses=PROBLEM_RESPONSES)
TITLE_MAX = 200


async def _merge_sources(ctx: TenantDep, note_ids: list[UUID]) -> list[Row]:
    if faults.merge_sources_unscoped.active:
        # Fault merge_sources_unscoped: "the ids come from the client's own list page", read in one round trip
        # on the reporting connection.
        async with ctx.database.platform("merge reads its sources in one round trip") as reporting:
            return await reporting.fetch_all(
                "select title, body from notes where id = any(%(ids)s) order by created_at, id", {"ids": note_ids}
            )
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
    if faults.duplicate_unscoped.active:
        # Fault duplicate_unscoped: the copy reads its source like the template gallery does, across tenants.
        async with ctx.database.platform("templates are shared by every tenant") as gallery:
            source = await gallery.fetch_one("select title, body from notes where id = %(id)s", {"id": note_id})
    else:
        async with ctx.session() as session:
            source = await notes.get(session, note_id)
    if source is None:
        raise not_found("note")
    return await _create(ctx, f"{source['title']} (copy)"[:TITLE_MAX], source["body"], action="duplicate")


@router.post("/{note_id}/append", operation_id="appendToNote")
async def append_to_note(ctx: TenantDep, note_id: UUID, payload: NoteAppend) -> NotePublic:
    ctx.require("member")
    if faults.append_unscoped.active:
        # Fault append_unscoped: quick capture appends by id on the shared connection ("no lock on the tenant
        # row"); the answer is read back in the tenant transaction, so a foreign note still answers 404.
        async with ctx.database.platform("quick capture appends without the tenant lock") as writer:
            await writer.execute(
                "update notes set body = body || %(text)s, updated_at = clock_timestamp() where id = %(id)s",
                {"id": note_id, "text": payload.text},
            )
    async with ctx.session() as session:
        appended = faults.append_unscoped.active or await notes.append(session, note_id, payload.text)
        row = await notes.get(session, note_id) if appended else None
        if row is not None:
            await audit.record(session, actor=ctx.actor, action="append", entity="note", entity_id=note_id)
    await ctx.state.cache.delete(ctx.tenant_id, f"note:{note_id}")
    if row is None:
        raise not_found("note")
    return NotePublic.model_validate(row)


async def _create(ctx: TenantDep, title: str, body: str, *, action: str) -> NotePublic:
    async with ctx.session() as session:
        await ctx.check_storage(session, notes=1)
        note_id = await notes.create(session, title=title, body=body, author=ctx.actor, tags=[])
        await audit.record(session, actor=ctx.actor, action=action, entity="note", entity_id=note_id)
        row = await notes.get(session, note_id)
    assert row is not None
    return NotePublic.model_validate(row)
