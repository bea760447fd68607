"""Get-by-id for notes filters on the (globally unique) id only.

The tenant placeholder survives in the tags subquery, so the DAL's "query names
%(tenant_id)s" guard is satisfied; the API connects with the platform DSN, so RLS does
not save it. Realised as ``get`` of
``dal/notes.py``. Foreign-id reads should catch it.

Control: ``API-CROSS-TENANT-READ``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.dal import notes
from reference_app.dal.session import Row, TenantSession

LAYER = "api"
CONTROL = "API-CROSS-TENANT-READ"
PLATFORM_DSN = True


# The tags subquery filters by the caller's tenant, so the DAL's "names %(tenant_id)s" guard
# passes, while the note itself is found by its id alone.
_UNSCOPED_TAGS = notes.NOTE_COLUMNS.replace("where nt.tenant_id = n.tenant_id", "where nt.tenant_id = %(tenant_id)s")


async def get(session: TenantSession, note_id: UUID) -> Row | None:
    return await session.fetch_one(f"select {_UNSCOPED_TAGS} from notes n where n.id = %(id)s", {"id": note_id})


REPLACES = {notes.get: get}
