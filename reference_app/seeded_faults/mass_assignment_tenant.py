"""Note creation accepts the bulk-import shape, which carries ``tenant_id``, and the DAL
honours it.

A client can plant notes in another tenant (platform DSN, so RLS's WITH CHECK does not
refuse the row). Realised as the
``createNote`` handler and its insert. Creates with a foreign
``tenant_id`` in the body should catch it.

Control: ``API-MASS-ASSIGNMENT``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from reference_app.api.deps import TenantDep
from reference_app.api.routes import notes as note_routes
from reference_app.dal import audit, notes
from reference_app.dal.session import TenantSession
from reference_app.faults import instead
from reference_app.models import NoteCreate, NotePublic

LAYER = "api"
CONTROL = "API-MASS-ASSIGNMENT"
PLATFORM_DSN = True


class NoteCreateImport(NoteCreate):
    """The bulk-import tool's shape, which names the tenant."""

    tenant_id: UUID | None = None


async def _create(session: TenantSession, payload: NoteCreateImport, author: str) -> UUID:
    """The bulk import's insert: into the tenant the row names, else the caller's."""
    if payload.tenant_id is None:
        return await notes.create(session, title=payload.title, body=payload.body, author=author, tags=payload.tags)
    row = await session.fetch_one(
        """
        insert into notes (tenant_id, title, body, author)
        values (coalesce(%(owner)s, %(tenant_id)s), %(title)s, %(body)s, %(author)s) returning id
        """,
        {"title": payload.title, "body": payload.body, "author": author, "owner": payload.tenant_id},
    )
    assert row is not None
    note_id: UUID = row["id"]
    return note_id


async def create_note(ctx: TenantDep, payload: NoteCreateImport) -> NotePublic:
    # The create endpoint took over the bulk-import shape, tenant_id and all.
    ctx.require("member")
    async with ctx.session() as session:
        await ctx.check_storage(session, notes=1)
        note_id = await _create(session, payload, ctx.actor)
        await audit.record(session, actor=ctx.actor, action="create", entity="note", entity_id=note_id)
        row = await notes.get(session, note_id)
    if row is None:  # the note went to the tenant_id of the body
        now = datetime.now(UTC)
        return NotePublic(
            id=note_id,
            title=payload.title,
            body=payload.body,
            author=ctx.actor,
            tags=[],
            created_at=now,
            updated_at=now,
        )
    return NotePublic.model_validate(row)


ENDPOINTS = {note_routes.create_note: instead(create_note)}
