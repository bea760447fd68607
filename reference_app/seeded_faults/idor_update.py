"""The note update checks that the caller's tenant is active in the same statement, and
forgets to correlate the note with that tenant (``UPDATE notes n ... FROM tenants t
WHERE t.id = %(tenant_id)s AND n.id = %(id)s``).

Any tenant can change any note by id (platform DSN, so no RLS). Realised as
``update`` of ``dal/notes.py``. Foreign writes followed by the victim's re-read should catch it.

Control: ``API-CROSS-TENANT-WRITE``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.dal import notes
from reference_app.dal.session import TenantSession

LAYER = "api"
CONTROL = "API-CROSS-TENANT-WRITE"
PLATFORM_DSN = True


async def update(session: TenantSession, note_id: UUID, *, title: str | None, body: str | None) -> bool:
    """The tenant is checked to be active in the statement; ``n.tenant_id = t.id`` is missing."""
    changed = await session.execute(
        """
        update notes n set title = coalesce(%(title)s, n.title), body = coalesce(%(body)s, n.body),
                           updated_at = clock_timestamp()
        from tenants t where t.id = %(tenant_id)s and t.status = 'active' and n.id = %(id)s
        """,
        {"id": note_id, "title": title, "body": body},
    )
    return changed == 1


REPLACES = {notes.update: update}
