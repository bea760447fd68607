"""Attachment metadata (the bytes live elsewhere; the size counts against the storage quota)."""

from __future__ import annotations

from uuid import UUID

from reference_app.dal.note_children import NoteChildren
from reference_app.dal.session import Row, TenantSession

_ROWS = NoteChildren("attachments", "id, note_id, filename, content_type, size_bytes, created_at")


async def list_for_note(session: TenantSession, note_id: UUID) -> list[Row]:
    return await _ROWS.list_for_note(session, note_id)


async def get(session: TenantSession, note_id: UUID, attachment_id: UUID) -> Row | None:
    return await _ROWS.get(session, note_id, attachment_id)


async def create(session: TenantSession, note_id: UUID, *, filename: str, content_type: str, size_bytes: int) -> Row:
    values = {"filename": filename, "content_type": content_type, "size_bytes": size_bytes}
    return await _ROWS.create(session, note_id, values)


async def delete(session: TenantSession, note_id: UUID, attachment_id: UUID) -> bool:
    return await _ROWS.delete(session, note_id, attachment_id)
