"""Merging notes reads the sources named in the body (``note_ids``) by id on the reporting
connection, "the ids come from the client's own list page".

Any tenant can fold another tenant's notes into a new note of its own and read them there.
Realised as ``_merge_sources`` of ``api/routes/note_actions.py``. Substituting a victim's id into a body field
that takes a reference, after the same request with the attacker's own id succeeded,
should catch it.

Control: ``API-CROSS-TENANT-WRITE``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.api.deps import TenantDep
from reference_app.api.routes import note_actions
from reference_app.dal.session import Row

LAYER = "api"
CONTROL = "API-CROSS-TENANT-WRITE"


async def _merge_sources(ctx: TenantDep, note_ids: list[UUID]) -> list[Row]:
    """Read in one round trip on the reporting connection: "the ids come from the client's own list page"."""
    async with ctx.database.platform("merge reads its sources in one round trip") as reporting:
        return await reporting.fetch_all(
            "select title, body from notes where id = any(%(ids)s) order by created_at, id", {"ids": note_ids}
        )


REPLACES = {note_actions._merge_sources: _merge_sources}
