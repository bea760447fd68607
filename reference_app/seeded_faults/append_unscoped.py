"""Quick capture appends to a note by id on the shared connection ("no lock on the tenant
row") and reads the answer back in the tenant transaction.

A foreign note answers 404 exactly like a missing one, yet the text was appended: only the
victim, re-reading its note list, sees the change. Realised as the
``appendToNote`` handler. The victim's differential re-read after every action
attempted on its object should catch it.

Control: ``API-CROSS-TENANT-WRITE``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.api.deps import TenantDep
from reference_app.api.errors import not_found
from reference_app.api.routes import note_actions
from reference_app.faults import instead
from reference_app.models import NoteAppend, NotePublic

LAYER = "api"
CONTROL = "API-CROSS-TENANT-WRITE"


async def append_to_note(ctx: TenantDep, note_id: UUID, payload: NoteAppend) -> NotePublic:
    # Quick capture appends by id on the shared connection ("no lock on the tenant row"); the answer is
    # read back in the tenant transaction, so a foreign note still answers 404.
    ctx.require("member")
    async with ctx.database.platform("quick capture appends without the tenant lock") as writer:
        await writer.execute(
            "update notes set body = body || %(text)s, updated_at = clock_timestamp() where id = %(id)s",
            {"id": note_id, "text": payload.text},
        )
    async with ctx.session() as session:
        row = await note_actions._appended(ctx, session, note_id)
    await ctx.state.cache.delete(ctx.tenant_id, f"note:{note_id}")
    if row is None:
        raise not_found("note")
    return NotePublic.model_validate(row)


ENDPOINTS = {note_actions.append_to_note: instead(append_to_note)}
