"""Rows that hang under a note (comments, attachments), read and written the one way that keeps them there.

The note is part of every key, and every statement names it next to the tenant: a child cannot be read,
written or removed through another note's path, even with its own id (``API-NESTED-PARENT``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from reference_app.dal.session import Row, TenantSession

_UNDER_NOTE = "tenant_id = %(tenant_id)s and note_id = %(note_id)s"


@dataclass(frozen=True)
class NoteChildren:
    """The children of notes in ``table``; a read returns ``columns``."""

    table: str
    columns: str

    async def list_for_note(self, session: TenantSession, note_id: UUID) -> list[Row]:
        return await session.fetch_all(
            f"select {self.columns} from {self.table} where {_UNDER_NOTE} order by created_at, id",
            {"note_id": note_id},
        )

    async def get(self, session: TenantSession, note_id: UUID, child_id: UUID) -> Row | None:
        return await session.fetch_one(
            f"select {self.columns} from {self.table} where {_UNDER_NOTE} and id = %(id)s",
            {"note_id": note_id, "id": child_id},
        )

    async def create(self, session: TenantSession, note_id: UUID, values: Mapping[str, Any]) -> Row:
        """Insert one child; ``values`` are its columns other than the tenant and the note (names from code only)."""
        names = ", ".join(values)
        placeholders = ", ".join(f"%({name})s" for name in values)
        row = await session.fetch_one(
            f"insert into {self.table} (tenant_id, note_id, {names}) "
            f"values (%(tenant_id)s, %(note_id)s, {placeholders}) returning {self.columns}",
            {**values, "note_id": note_id},
        )
        assert row is not None
        return row

    async def delete(self, session: TenantSession, note_id: UUID, child_id: UUID) -> bool:
        deleted = await session.execute(
            f"delete from {self.table} where {_UNDER_NOTE} and id = %(id)s", {"note_id": note_id, "id": child_id}
        )
        return deleted == 1
