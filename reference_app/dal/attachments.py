"""Attachment metadata (the bytes live elsewhere; the size counts against the storage quota)."""

from __future__ import annotations

from uuid import UUID

from reference_app.dal.session import Row, TenantSession

_COLUMNS = "id, note_id, filename, content_type, size_bytes, created_at"


async def list_for_note(session: TenantSession, note_id: UUID) -> list[Row]:
    return await session.fetch_all(
        f"select {_COLUMNS} from attachments where tenant_id = %(tenant_id)s and note_id = %(note_id)s "
        "order by created_at, id",
        {"note_id": note_id},
    )


async def get(session: TenantSession, note_id: UUID, attachment_id: UUID) -> Row | None:
    return await session.fetch_one(
        f"select {_COLUMNS} from attachments where tenant_id = %(tenant_id)s and note_id = %(note_id)s and id = %(id)s",
        {"note_id": note_id, "id": attachment_id},
    )


async def create(session: TenantSession, note_id: UUID, *, filename: str, content_type: str, size_bytes: int) -> Row:
    row = await session.fetch_one(
        f"insert into attachments (tenant_id, note_id, filename, content_type, size_bytes) "
        f"values (%(tenant_id)s, %(note_id)s, %(filename)s, %(content_type)s, %(size_bytes)s) "
        f"returning {_COLUMNS}",
        {"note_id": note_id, "filename": filename, "content_type": content_type, "size_bytes": size_bytes},
    )
    assert row is not None
    return row


async def delete(session: TenantSession, note_id: UUID, attachment_id: UUID) -> bool:
    deleted = await session.execute(
        "delete from attachments where tenant_id = %(tenant_id)s and note_id = %(note_id)s and id = %(id)s",
        {"note_id": note_id, "id": attachment_id},
    )
    return deleted == 1
