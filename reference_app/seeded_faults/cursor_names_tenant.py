"""Pages after the first are read on the reporting connection (platform role) for the tenant the
cursor names: "the cursor carries everything the next page needs".

The cursor is ``<tenant id>.<position>``, and nothing checks that its tenant is the caller's, so
passing back another tenant's cursor shows that tenant's next page. Realised around the
``listNotes`` handler. Replaying the victim's cursor as the attacker should catch it.

Control: ``API-LIST-FILTER``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from reference_app.api.deps import TenantDep
from reference_app.api.errors import ProblemError
from reference_app.api.routes import notes as note_routes
from reference_app.dal import notes
from reference_app.dal.session import PlatformSession, Row
from reference_app.faults import Endpoint
from reference_app.models import NotePage, NotePublic

LAYER = "api"
CONTROL = "API-LIST-FILTER"


async def _later_page_of(
    reporting: PlatformSession, tenant_id: UUID, *, limit: int, cursor: tuple[datetime, UUID]
) -> list[Row]:
    """The page after ``cursor`` of the tenant it named, on the reporting connection."""
    after, after_id = cursor
    return await reporting.fetch_all(
        f"""
        select {notes.NOTE_COLUMNS} from notes n
        where n.tenant_id = %(tenant_id)s and (n.created_at, n.id) < (%(after)s, %(after_id)s::uuid)
        order by n.created_at desc, n.id desc
        limit %(limit)s
        """,
        {"tenant_id": tenant_id, "after": after, "after_id": after_id, "limit": limit},
    )


def _cursor_names_the_tenant(list_notes: Endpoint) -> Endpoint:
    async def list_notes_offloaded(
        ctx: TenantDep,
        limit: note_routes.PageSize = 50,
        cursor: note_routes.PageCursor = None,
        tag: note_routes.TagFilter = None,
    ) -> NotePage:
        # Later pages come from the reporting connection, for the tenant the cursor names: "the cursor
        # carries everything the next page needs", so deep pagination stays off the primary. The first
        # page is read as usual and its cursor is ``<tenant id>.<position>``.
        if cursor is None:
            first: NotePage = await list_notes(ctx, limit, None, tag)
            if first.next_cursor is not None:
                first.next_cursor = f"{ctx.tenant_id}.{first.next_cursor}"
            return first
        await ctx.ensure_active()
        try:
            named, position = cursor.split(".", 1)
            tenant_id = UUID(named)
            after = notes.decode_cursor(position)
        except ValueError:
            raise ProblemError(400, "Bad cursor", "Pass back the next_cursor of a previous page.") from None
        async with ctx.database.platform("later pages offloaded to the reporting connection") as reporting:
            rows = await _later_page_of(reporting, tenant_id, limit=limit + 1, cursor=after)
        page = [NotePublic.model_validate(row) for row in rows[:limit]]
        last = f"{tenant_id}.{notes.encode_cursor(page[-1].created_at, page[-1].id)}" if len(rows) > limit else None
        return NotePage(items=page, next_cursor=last)

    return list_notes_offloaded


ENDPOINTS = {note_routes.list_notes: _cursor_names_the_tenant}
