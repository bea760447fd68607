"""Duplicating a note reads its source the way the shared template gallery does, across tenants.

``POST /v1/notes/{another_tenant's_note}/duplicate`` copies that note into the caller's
tenant. Realised as ``_duplicate_source`` of ``api/routes/note_actions.py``. Actions (POST on a sub-path of an
object) attacked with a victim's id should catch it.

Control: ``API-CROSS-TENANT-WRITE``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.api.deps import TenantDep
from reference_app.api.routes import note_actions
from reference_app.dal.session import Row

LAYER = "api"
CONTROL = "API-CROSS-TENANT-WRITE"


async def _duplicate_source(ctx: TenantDep, note_id: UUID) -> Row | None:
    """The copy reads its source the way the template gallery does, across tenants."""
    async with ctx.database.platform("templates are shared by every tenant") as gallery:
        return await gallery.fetch_one("select title, body from notes where id = %(id)s", {"id": note_id})


REPLACES = {note_actions._duplicate_source: _duplicate_source}
