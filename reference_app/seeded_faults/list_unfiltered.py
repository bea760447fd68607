"""The note list's tenant filter moved into the tag branch of the WHERE clause.

Without a ``tag`` parameter the list has no tenant filter and shows every tenant's
notes (the placeholder in the tag branch satisfies the DAL guard; platform DSN, so no
RLS). Realised as ``list_page`` of ``dal/notes.py``. Collection reads scanned for foreign ids should
catch it.

Control: ``API-LIST-FILTER``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from reference_app.dal import notes
from reference_app.dal.session import Row, TenantSession

LAYER = "api"
CONTROL = "API-LIST-FILTER"
PLATFORM_DSN = True


async def list_page(
    session: TenantSession, *, limit: int, cursor: tuple[datetime, UUID] | None, tag: str | None
) -> list[Row]:
    """The tenant condition slid into the tag branch during a refactor."""
    after, after_id = cursor if cursor else (None, None)
    return await session.fetch_all(
        f"""
        select {notes.NOTE_COLUMNS} from notes n
        where (%(after)s::timestamptz is null or (n.created_at, n.id) < (%(after)s, %(after_id)s::uuid))
          and (%(tag)s::text is null or exists (
                select 1 from note_tags nt join tags t on t.tenant_id = nt.tenant_id and t.id = nt.tag_id
                where nt.tenant_id = %(tenant_id)s and nt.note_id = n.id and t.name = %(tag)s))
        order by n.created_at desc, n.id desc
        limit %(limit)s
        """,
        {"after": after, "after_id": after_id, "tag": tag, "limit": limit},
    )


REPLACES = {notes.list_page: list_page}
