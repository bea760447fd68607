"""Comment routes look comments up by (tenant, id) and never check the note in the path.

``GET /v1/notes/{any_note}/comments/{comment_id}`` answers for any note id, another
tenant's or none at all. Realised as ``get`` of
``dal/comments.py``. Mixing parents and
children of two tenants should catch it.

Control: ``API-NESTED-PARENT``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.dal import comments
from reference_app.dal.session import Row, TenantSession

LAYER = "api"
CONTROL = "API-NESTED-PARENT"


async def get(session: TenantSession, note_id: UUID, comment_id: UUID) -> Row | None:
    """The note in the path is never looked at: "comment ids are unique"."""
    return await session.fetch_one(
        f"select {comments.COLUMNS} from comments where tenant_id = %(tenant_id)s and id = %(id)s", {"id": comment_id}
    )


REPLACES = {comments.get: get}
