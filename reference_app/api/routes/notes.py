"""Notes: CRUD, keyset-paginated list filtered by tag, full-text search, count."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES, ProblemError, not_found
from reference_app.dal import audit, notes
from reference_app.models import NoteCount, NoteCreate, NotePage, NotePublic, NoteUpdate

router = APIRouter(prefix="/v1/notes", tags=["notes"], responses=PROBLEM_RESPONSES)


@router.get("", operation_id="listNotes")
async def list_notes(
    ctx: TenantDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
) -> NotePage:
    try:
        position = notes.decode_cursor(cursor) if cursor else None
    except ValueError:
        raise ProblemError(400, "Bad cursor", "Pass back the next_cursor of a previous page.") from None
    async with ctx.session() as session:
        rows = await notes.list_page(session, limit=limit + 1, cursor=position, tag=tag)
    page = [NotePublic.model_validate(row) for row in rows[:limit]]
    next_cursor = notes.encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return NotePage(items=page, next_cursor=next_cursor)


@router.get("/search", operation_id="searchNotes")
async def search_notes(
    ctx: TenantDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[NotePublic]:
    async with ctx.session() as session:
        rows = await notes.search(session, q, limit)
    return [NotePublic.model_validate(row) for row in rows]


@router.get("/count", operation_id="countNotes")
async def count_notes(ctx: TenantDep) -> NoteCount:
    async with ctx.session() as session:
        return NoteCount(count=await notes.count(session))


@router.post("", status_code=201, operation_id="createNote")
async def create_note(ctx: TenantDep, payload: NoteCreate) -> NotePublic:
    ctx.require("member")
    async with ctx.session() as session:
        note_id = await notes.create(
            session, title=payload.title, body=payload.body, author=ctx.actor, tags=payload.tags
        )
        await audit.record(session, actor=ctx.actor, action="create", entity="note", entity_id=note_id)
        row = await notes.get(session, note_id)
    return NotePublic.model_validate(row)


@router.get("/{note_id}", operation_id="getNote")
async def get_note(ctx: TenantDep, note_id: UUID) -> NotePublic:
    async with ctx.session() as session:
        row = await notes.get(session, note_id)
    if row is None:
        raise not_found("note")
    return NotePublic.model_validate(row)


@router.patch("/{note_id}", operation_id="updateNote")
async def update_note(ctx: TenantDep, note_id: UUID, payload: NoteUpdate) -> NotePublic:
    ctx.require("member")
    async with ctx.session() as session:
        if not await notes.update(session, note_id, title=payload.title, body=payload.body):
            raise not_found("note")
        await audit.record(session, actor=ctx.actor, action="update", entity="note", entity_id=note_id)
        row = await notes.get(session, note_id)
    return NotePublic.model_validate(row)


@router.delete("/{note_id}", status_code=204, operation_id="deleteNote")
async def delete_note(ctx: TenantDep, note_id: UUID) -> Response:
    ctx.require("member")
    async with ctx.session() as session:
        if not await notes.delete(session, note_id):
            raise not_found("note")
        await audit.record(session, actor=ctx.actor, action="delete", entity="note", entity_id=note_id)
    return Response(status_code=204)
