"""The tenant registry. Reads of one's own tenant go through RLS; lifecycle changes are platform work."""

from __future__ import annotations

from uuid import UUID

from reference_app.dal.session import PlatformSession, Row, TenantSession

_COLUMNS = "id, slug, name, plan, status, created_at"


async def current(session: TenantSession) -> Row | None:
    """The session's own tenant row (row-level security shows the app role no other)."""
    return await session.fetch_one(f"select {_COLUMNS} from tenants where id = %(tenant_id)s")


async def list_all(session: PlatformSession) -> list[Row]:
    return await session.fetch_all(f"select {_COLUMNS} from tenants order by created_at, id")


async def get(session: PlatformSession, tenant_id: UUID) -> Row | None:
    return await session.fetch_one(f"select {_COLUMNS} from tenants where id = %(id)s", {"id": tenant_id})


async def create(session: PlatformSession, *, slug: str, name: str, plan: str) -> tuple[Row, bool]:
    """Idempotent on ``slug``: returns the row and whether it was created now."""
    created = await session.fetch_one(
        f"insert into tenants (slug, name, plan) values (%(slug)s, %(name)s, %(plan)s) "
        f"on conflict (slug) do nothing returning {_COLUMNS}",
        {"slug": slug, "name": name, "plan": plan},
    )
    if created is not None:
        return created, True
    existing = await session.fetch_one(f"select {_COLUMNS} from tenants where slug = %(slug)s", {"slug": slug})
    assert existing is not None
    return existing, False


async def set_status(session: PlatformSession, tenant_id: UUID, status: str) -> Row | None:
    return await session.fetch_one(
        f"update tenants set status = %(status)s where id = %(id)s returning {_COLUMNS}",
        {"id": tenant_id, "status": status},
    )


async def delete(session: PlatformSession, tenant_id: UUID) -> bool:
    """Cascades to every tenant-scoped table through the foreign keys."""
    return await session.execute("delete from tenants where id = %(id)s", {"id": tenant_id}) == 1
