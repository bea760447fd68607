"""Notes: CRUD, keyset-paginated list filtered by tag, full-text search, count.

``GET /v1/notes/{note_id}`` is the hot read path: it is served from the tenant-scoped cache
after the tenant check, and every write that changes a note invalidates its entry.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response

from reference_app.api.audited import delete_audited
from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES, ProblemError, not_found
from reference_app.api.links import created
from reference_app.cache import TenantCache
from reference_app.dal import audit, notes
from reference_app.internal.client import InternalServiceError, SearchClient
from reference_app.models import NoteCount, NoteCreate, NotePage, NotePublic, NoteUpdate

router = APIRouter(prefix="/v1/notes", tags=["notes"], responses=PROBLEM_RESPONSES)
logger = logging.getLogger("reference_app")


def _cache(ctx: TenantDep) -> TenantCache:
    cache: TenantCache = ctx.state.cache
    return cache


def _note_key(note_id: UUID) -> str:
    return f"note:{note_id}"


PageSize = Annotated[int, Query(ge=1, le=100)]
PageCursor = Annotated[str | None, Query(max_length=200)]
TagFilter = Annotated[str | None, Query(max_length=64)]


@router.get("", operation_id="listNotes")
async def list_notes(
    ctx: TenantDep, limit: PageSize = 50, cursor: PageCursor = None, tag: TagFilter = None
) -> NotePage:
    try:
        position = notes.decode_cursor(cursor) if cursor else None
    except ValueError:
        raise ProblemError(400, "Bad cursor", "Pass back the next_cursor of a previous page.") from None
    async with ctx.session(single=True) as session:
        rows = await notes.list_page(session, limit=limit + 1, cursor=position, tag=tag)
    page = [NotePublic.model_validate(row) for row in rows[:limit]]
    next_cursor = notes.encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return NotePage(items=page, next_cursor=next_cursor)


@router.get("/search", operation_id="searchNotes")
async def search_notes(
    ctx: TenantDep,
    request: Request,
    # No NUL: the internal search service could not store or match it (PostgreSQL text holds none).
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[NotePublic]:
    """Runs in the internal search service when one is configured, else in this process."""
    search_client: SearchClient | None = ctx.state.search_client
    if search_client is None:
        async with ctx.session(single=True) as session:
            rows = await notes.search(session, q, limit)
        return [NotePublic.model_validate(row) for row in rows]
    await ctx.ensure_active()
    try:
        items = await search_client.search(ctx.tenant_id, q, limit, request.headers.get("traceparent"))
    except InternalServiceError as exc:
        logger.error("search for tenant %s failed: %s", ctx.tenant_id, exc)
        raise ProblemError(502, "Search unavailable", "The search service did not answer; try again.") from None
    return [NotePublic.model_validate(item) for item in items]


@router.get("/count", operation_id="countNotes")
async def count_notes(ctx: TenantDep) -> NoteCount:
    async with ctx.session(single=True) as session:
        return NoteCount(count=await notes.count(session))


@router.post(
    "",
    status_code=201,
    operation_id="createNote",
    openapi_extra=created(
        "note_id",
        "getNote",
        "updateNote",
        "deleteNote",
        "listComments",
        "createComment",
        "listAttachments",
        "createAttachment",
    ),
)
async def create_note(ctx: TenantDep, payload: NoteCreate) -> NotePublic:
    ctx.require("member")
    async with ctx.session() as session:
        await ctx.check_storage(session, notes=1)
        note_id = await notes.create(
            session, title=payload.title, body=payload.body, author=ctx.actor, tags=payload.tags
        )
        await audit.record(session, actor=ctx.actor, action="create", entity="note", entity_id=note_id)
        row = await notes.get(session, note_id)
    assert row is not None  # written in this transaction
    return NotePublic.model_validate(row)


@router.get(
    "/{note_id}",
    operation_id="getNote",
    response_model=NotePublic,
    responses={304: {"description": "Not modified: the client's copy (If-None-Match) is current"}},
)
async def get_note(
    ctx: TenantDep, note_id: UUID, response: Response, if_none_match: Annotated[str | None, Header()] = None
) -> Any:
    cache = _cache(ctx)
    # One round trip: the tenant check with the note's query, or alone on a cache hit.
    async with ctx.session(single=True) as session:
        cached = await cache.get(ctx.tenant_id, _note_key(note_id))
        if cached is not None:
            note = NotePublic.model_validate_json(cached)
            ctx.state.recent_notes.opened(ctx.tenant_id, ctx.actor, note)
            return _conditional(note, if_none_match, response)
        row = await notes.get(session, note_id)
    if row is None:
        raise not_found("note")
    note = NotePublic.model_validate(row)
    await cache.set(ctx.tenant_id, _note_key(note_id), note.model_dump_json().encode())
    ctx.state.recent_notes.opened(ctx.tenant_id, ctx.actor, note)
    return _conditional(note, if_none_match, response)


def _etag(note_id: UUID, updated_at: datetime) -> str:
    """A weak validator from the note's id and version: equal exactly when the client's copy is current."""
    return 'W/"' + hashlib.sha256(f"{note_id}:{updated_at.isoformat()}".encode()).hexdigest()[:24] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    return bool(if_none_match) and etag in {tag.strip() for tag in (if_none_match or "").split(",")}


def _conditional(note: NotePublic, if_none_match: str | None, response: Response) -> NotePublic | Response:
    """The note with its ETag, or 304 when the client already has this version (checked after the tenant's read)."""
    etag = _etag(note.id, note.updated_at)
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return note


@router.patch("/{note_id}", operation_id="updateNote")
async def update_note(ctx: TenantDep, note_id: UUID, payload: NoteUpdate) -> NotePublic:
    ctx.require("member")
    async with ctx.session() as session:
        if not await notes.update(session, note_id, title=payload.title, body=payload.body):
            raise not_found("note")
        await audit.record(session, actor=ctx.actor, action="update", entity="note", entity_id=note_id)
        row = await notes.get(session, note_id)
    await _cache(ctx).delete(ctx.tenant_id, _note_key(note_id))
    if row is None:  # deleted concurrently
        raise not_found("note")
    return NotePublic.model_validate(row)


@router.delete("/{note_id}", status_code=204, operation_id="deleteNote")
async def delete_note(ctx: TenantDep, note_id: UUID) -> Response:
    ctx.require("member")
    await delete_audited(ctx, "note", note_id, lambda session: notes.delete(session, note_id))
    await _cache(ctx).delete(ctx.tenant_id, _note_key(note_id))
    return Response(status_code=204)
