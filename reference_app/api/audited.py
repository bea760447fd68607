"""Deletes that leave their trace: the row goes and its audit entry is written in one tenant transaction.

A row that is not there, or is another tenant's, answers 404 and writes no entry, so the trail never
names an id the caller could not see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from reference_app.api.deps import TenantContext
from reference_app.api.errors import not_found
from reference_app.dal import TenantSession, audit


async def delete_audited(
    ctx: TenantContext, entity: str, entity_id: UUID, delete: Callable[[TenantSession], Awaitable[bool]]
) -> None:
    """Run ``delete`` (true when it removed the row) and audit it as the caller; the role check is the route's."""
    async with ctx.session() as session:
        if not await delete(session):
            raise not_found(entity)
        await audit.record(session, actor=ctx.actor, action="delete", entity=entity, entity_id=entity_id)
