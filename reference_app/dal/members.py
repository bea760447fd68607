"""Memberships: who belongs to a tenant, with which role."""

from __future__ import annotations

from uuid import UUID

from reference_app.dal.session import Row, TenantSession

_COLUMNS = "id, subject, email, role, created_at"


async def list_all(session: TenantSession) -> list[Row]:
    return await session.fetch_all(
        f"select {_COLUMNS} from users where tenant_id = %(tenant_id)s order by created_at, id"
    )


async def get(session: TenantSession, member_id: UUID) -> Row | None:
    return await session.fetch_one(
        f"select {_COLUMNS} from users where tenant_id = %(tenant_id)s and id = %(id)s", {"id": member_id}
    )


async def create(session: TenantSession, *, subject: str, email: str | None, role: str) -> Row | None:
    """None when the subject is already a member. A subject added back is no longer a removed member."""
    row = await session.fetch_one(
        f"insert into users (tenant_id, subject, email, role) "
        f"values (%(tenant_id)s, %(subject)s, %(email)s, %(role)s) "
        f"on conflict (tenant_id, subject) do nothing returning {_COLUMNS}",
        {"subject": subject, "email": email, "role": role},
    )
    if row is not None:
        await session.execute(
            "delete from removed_members where tenant_id = %(tenant_id)s and subject = %(subject)s",
            {"subject": subject},
        )
    return row


async def update_role(session: TenantSession, member_id: UUID, role: str) -> Row | None:
    return await session.fetch_one(
        f"update users set role = %(role)s where tenant_id = %(tenant_id)s and id = %(id)s returning {_COLUMNS}",
        {"id": member_id, "role": role},
    )


async def delete(session: TenantSession, member_id: UUID) -> bool:
    """The subject is remembered as removed: its tokens, which outlive the membership, then lose every right."""
    removed = await session.fetch_one(
        """
        with gone as (delete from users where tenant_id = %(tenant_id)s and id = %(id)s returning tenant_id, subject)
        insert into removed_members (tenant_id, subject) select tenant_id, subject from gone
        on conflict (tenant_id, subject) do update set removed_at = now()
        returning subject
        """,
        {"id": member_id},
    )
    return removed is not None
