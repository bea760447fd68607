"""Comments under notes. The note is part of every key, so a comment cannot hang under a foreign note."""

from __future__ import annotations

from uuid import UUID

from reference_app.dal.note_children import NoteChildren
from reference_app.dal.session import Row, TenantSession

COLUMNS = "id, note_id, body, author, created_at"
_ROWS = NoteChildren("comments", COLUMNS)


async def list_for_note(session: TenantSession, note_id: UUID) -> list[Row]:
    return await _ROWS.list_for_note(session, note_id)


async def recent(session: TenantSession, note_id: UUID | None, limit: int) -> list[Row]:
    """The tenant's newest comments, of one note when ``note_id`` is given."""
    return await session.fetch_all(
        f"select {COLUMNS} from comments where tenant_id = %(tenant_id)s "
        "and (%(note_id)s::uuid is null or note_id = %(note_id)s) order by created_at desc, id desc limit %(limit)s",
        {"note_id": note_id, "limit": limit},
    )


async def get(session: TenantSession, note_id: UUID, comment_id: UUID) -> Row | None:
    return await _ROWS.get(session, note_id, comment_id)


async def create(session: TenantSession, note_id: UUID, *, body: str, author: str) -> Row:
    return await _ROWS.create(session, note_id, {"body": body, "author": author})


async def delete(session: TenantSession, note_id: UUID, comment_id: UUID) -> bool:
    return await _ROWS.delete(session, note_id, comment_id)
