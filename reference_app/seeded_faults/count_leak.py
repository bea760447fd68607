"""The note count moved to the reporting connection (platform role) and dropped its filter,
"RLS will scope it".

The platform role bypasses RLS, so the count is every tenant's. Realised as the
``countNotes`` handler. A count that changes when only another tenant writes should
catch it.

Control: ``API-COUNT-LEAK``.
"""

from __future__ import annotations

from reference_app.api.deps import TenantDep
from reference_app.api.routes import notes as note_routes
from reference_app.faults import instead
from reference_app.models import NoteCount

LAYER = "api"
CONTROL = "API-COUNT-LEAK"


async def count_notes(ctx: TenantDep) -> NoteCount:
    # Moved to the reporting connection (platform role): "RLS will scope it".
    await ctx.ensure_active()
    async with ctx.database.platform("note count offloaded to the reporting connection") as reporting:
        row = await reporting.fetch_one("select count(*) as n from notes")
    return NoteCount(count=int(row["n"]) if row else 0)


ENDPOINTS = {note_routes.count_notes: instead(count_notes)}
