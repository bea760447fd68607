"""A conditional read (``If-None-Match``) is answered from an index-only version lookup that runs
before the tenant-scoped read, on the reporting connection ("most reads are revalidations").

Another tenant's ETag sent with its note id answers ``304 Not Modified`` where a missing id
answers 404: the note exists, and is at that version. Realised in front of the
``getNote`` handler.
The victim's validators replayed with the foreign and a missing id should catch it.

Control: ``API-EXISTENCE-ORACLE``.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Header, Response

from reference_app.api.deps import TenantDep
from reference_app.api.routes import notes as note_routes
from reference_app.faults import Endpoint

LAYER = "api"
CONTROL = "API-EXISTENCE-ORACLE"


async def _unchanged_fast_path(ctx: TenantDep, note_id: UUID, if_none_match: str) -> Response | None:
    # 304 from an index-only lookup before loading the note.
    # "Most reads are revalidations", so the version is read on the reporting connection without
    # the tenant scope: a 304 then confirms a foreign note exists and what version it is at.
    async with ctx.database.platform("conditional GET fast path") as lookup:
        row = await lookup.fetch_one("select updated_at from notes where id = %(id)s", {"id": note_id})
    etag = note_routes._etag(note_id, row["updated_at"]) if row is not None else ""
    if row is None or not note_routes._matches(if_none_match, etag):
        return None
    return Response(status_code=304, headers={"ETag": etag})


def _fast_path_first(get_note: Endpoint) -> Endpoint:
    async def get_note_revalidated(
        ctx: TenantDep, note_id: UUID, response: Response, if_none_match: Annotated[str | None, Header()] = None
    ) -> Any:
        if if_none_match:
            unchanged = await _unchanged_fast_path(ctx, note_id, if_none_match)
            if unchanged is not None:
                return unchanged
        return await get_note(ctx, note_id, response, if_none_match)

    return get_note_revalidated


ENDPOINTS = {note_routes.get_note: _fast_path_first}
