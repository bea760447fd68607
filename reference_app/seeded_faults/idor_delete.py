"""The note delete joins ``tenants`` to check the caller's tenant is active and forgets the
correlation, exactly like ``idor_update``.

Any tenant can delete any note by id (platform DSN, so no RLS). Realised as
``delete`` of ``dal/notes.py``. Foreign deletes followed by the victim's re-read should catch it.

Control: ``API-CROSS-TENANT-WRITE``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.dal import notes
from reference_app.dal.session import TenantSession

LAYER = "api"
CONTROL = "API-CROSS-TENANT-WRITE"
PLATFORM_DSN = True


async def delete(session: TenantSession, note_id: UUID) -> bool:
    """The same uncorrelated "tenant is active" join as ``idor_update``."""
    deleted = await session.execute(
        "delete from notes n using tenants t where t.id = %(tenant_id)s and t.status = 'active' and n.id = %(id)s",
        {"id": note_id},
    )
    return deleted == 1


REPLACES = {notes.delete: delete}
