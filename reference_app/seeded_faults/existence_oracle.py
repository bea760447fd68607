"""Reading a note looks the id up across tenants to answer 403 "not yours" instead of 404.

The answer tells an attacker which ids exist in other tenants. Realised around
the ``getNote`` handler. Comparing the answer for a foreign id with the one for a
missing id should catch it.

Control: ``API-EXISTENCE-ORACLE``.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Header, Response

from reference_app.api.deps import TenantDep
from reference_app.api.errors import ProblemError
from reference_app.api.routes import notes as note_routes
from reference_app.faults import Endpoint

LAYER = "api"
CONTROL = "API-EXISTENCE-ORACLE"


async def _forbid_foreign(ctx: TenantDep, note_id: UUID) -> None:
    # "A clearer error": 403 when the note exists in another tenant.
    async with ctx.database.platform("tell 'not yours' from 'not found'") as lookup:
        owner = await lookup.fetch_one("select tenant_id from notes where id = %(id)s", {"id": note_id})
    if owner is not None and owner["tenant_id"] != ctx.tenant_id:
        raise ProblemError(403, "Forbidden", "This note belongs to another tenant.")


def _explained(get_note: Endpoint) -> Endpoint:
    async def get_note_or_forbidden(
        ctx: TenantDep, note_id: UUID, response: Response, if_none_match: Annotated[str | None, Header()] = None
    ) -> Any:
        try:
            return await get_note(ctx, note_id, response, if_none_match)
        except ProblemError as exc:
            if exc.problem.status == 404:
                await _forbid_foreign(ctx, note_id)
            raise

    return get_note_or_forbidden


ENDPOINTS = {note_routes.get_note: _explained}
