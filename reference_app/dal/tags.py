"""Tags of a tenant."""

from __future__ import annotations

from uuid import UUID

from reference_app.dal.session import Row, TenantSession


async def list_all(session: TenantSession) -> list[Row]:
    return await session.fetch_all("select id, name from tags where tenant_id = %(tenant_id)s order by name")


async def create(session: TenantSession, name: str) -> Row:
    """Raises psycopg.errors.UniqueViolation when the tenant already has a tag of that name."""
    row = await session.fetch_one(
        "insert into tags (tenant_id, name) values (%(tenant_id)s, %(name)s) returning id, name", {"name": name}
    )
    assert row is not None
    return row


async def delete(session: TenantSession, tag_id: UUID) -> bool:
    deleted = await session.execute("delete from tags where tenant_id = %(tenant_id)s and id = %(id)s", {"id": tag_id})
    return deleted == 1
