"""The tenant's audit trail: one row per write."""

from __future__ import annotations

from reference_app.dal.session import Row, TenantSession


async def record(session: TenantSession, *, actor: str, action: str, entity: str, entity_id: object) -> None:
    await session.execute(
        "insert into audit_log (tenant_id, actor, action, entity, entity_id) "
        "values (%(tenant_id)s, %(actor)s, %(action)s, %(entity)s, %(entity_id)s)",
        {"actor": actor, "action": action, "entity": entity, "entity_id": str(entity_id)},
    )


async def recent(session: TenantSession, limit: int) -> list[Row]:
    return await session.fetch_all(
        "select id, actor, action, entity, entity_id, at from audit_log where tenant_id = %(tenant_id)s "
        "order by at desc, id desc limit %(limit)s",
        {"limit": limit},
    )
