"""Notes, and the tags attached to them."""

from __future__ import annotations

import base64
from datetime import datetime
from uuid import UUID

from reference_app import faults
from reference_app.dal.session import PlatformSession, Row, TenantSession

_NOTE_COLUMNS = """
    n.id, n.title, n.body, n.author, n.created_at, n.updated_at,
    coalesce((select array_agg(t.name order by t.name) from note_tags nt
              join tags t on t.tenant_id = nt.tenant_id and t.id = nt.tag_id
              where nt.tenant_id = n.tenant_id and nt.note_id = n.id), '{}') as tags
"""


def encode_cursor(created_at: datetime, note_id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{note_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Raises ValueError on anything that is not a cursor this service issued."""
    created_at, note_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    return datetime.fromisoformat(created_at), UUID(note_id)


# Fault dal_unscoped_get: the tags subquery filters by the caller's tenant, so the DAL's
# "names %(tenant_id)s" guard passes, while the note itself is found by its id alone.
_UNSCOPED_TAGS = _NOTE_COLUMNS.replace("where nt.tenant_id = n.tenant_id", "where nt.tenant_id = %(tenant_id)s")


async def get(session: TenantSession, note_id: UUID) -> Row | None:
    if faults.dal_unscoped_get.active:
        return await session.fetch_one(f"select {_UNSCOPED_TAGS} from notes n where n.id = %(id)s", {"id": note_id})
    return await session.fetch_one(
        f"select {_NOTE_COLUMNS} from notes n where n.tenant_id = %(tenant_id)s and n.id = %(id)s",
        {"id": note_id},
    )


async def get_many(session: TenantSession, note_ids: list[UUID]) -> list[Row]:
    """The caller's notes among ``note_ids``, oldest first (ids of other tenants simply do not match)."""
    return await session.fetch_all(
        f"select {_NOTE_COLUMNS} from notes n where n.tenant_id = %(tenant_id)s and n.id = any(%(ids)s) "
        "order by n.created_at, n.id",
        {"ids": note_ids},
    )


async def append(session: TenantSession, note_id: UUID, text: str) -> bool:
    changed = await session.execute(
        "update notes set body = body || %(text)s, updated_at = clock_timestamp() "
        "where tenant_id = %(tenant_id)s and id = %(id)s",
        {"id": note_id, "text": text},
    )
    return changed == 1


async def exists(session: TenantSession, note_id: UUID) -> bool:
    row = await session.fetch_one(
        "select 1 as found from notes where tenant_id = %(tenant_id)s and id = %(id)s", {"id": note_id}
    )
    return row is not None


async def list_page(
    session: TenantSession, *, limit: int, cursor: tuple[datetime, UUID] | None, tag: str | None
) -> list[Row]:
    """Newest first; keyset pagination on (created_at, id) so pages stay stable under writes."""
    after, after_id = cursor if cursor else (None, None)
    if faults.list_unfiltered.active:
        # Fault list_unfiltered: the tenant condition slid into the tag branch during a refactor.
        return await session.fetch_all(
            f"""
            select {_NOTE_COLUMNS} from notes n
            where (%(after)s::timestamptz is null or (n.created_at, n.id) < (%(after)s, %(after_id)s::uuid))
              and (%(tag)s::text is null or exists (
                    select 1 from note_tags nt join tags t on t.tenant_id = nt.tenant_id and t.id = nt.tag_id
                    where nt.tenant_id = %(tenant_id)s and nt.note_id = n.id and t.name = %(tag)s))
            order by n.created_at desc, n.id desc
            limit %(limit)s
            """,
            {"after": after, "after_id": after_id, "tag": tag, "limit": limit},
        )
    return await session.fetch_all(
        f"""
        select {_NOTE_COLUMNS} from notes n
        where n.tenant_id = %(tenant_id)s
          and (%(after)s::timestamptz is null or (n.created_at, n.id) < (%(after)s, %(after_id)s::uuid))
          and (%(tag)s::text is null or exists (
                select 1 from note_tags nt join tags t on t.tenant_id = nt.tenant_id and t.id = nt.tag_id
                where nt.tenant_id = n.tenant_id and nt.note_id = n.id and t.name = %(tag)s))
        order by n.created_at desc, n.id desc
        limit %(limit)s
        """,
        {"after": after, "after_id": after_id, "tag": tag, "limit": limit},
    )


async def later_page_of(
    reporting: PlatformSession, tenant_id: UUID, *, limit: int, cursor: tuple[datetime, UUID]
) -> list[Row]:
    """Fault cursor_names_tenant: the page after ``cursor`` of the tenant it named, on the reporting connection."""
    after, after_id = cursor
    return await reporting.fetch_all(
        f"""
        select {_NOTE_COLUMNS} from notes n
        where n.tenant_id = %(tenant_id)s and (n.created_at, n.id) < (%(after)s, %(after_id)s::uuid)
        order by n.created_at desc, n.id desc
        limit %(limit)s
        """,
        {"tenant_id": tenant_id, "after": after, "after_id": after_id, "limit": limit},
    )


async def search(session: TenantSession, query: str, limit: int) -> list[Row]:
    return await session.fetch_all(
        f"""
        select {_NOTE_COLUMNS} from notes n
        where n.tenant_id = %(tenant_id)s and n.search @@ plainto_tsquery('simple', %(q)s)
        order by ts_rank(n.search, plainto_tsquery('simple', %(q)s)) desc, n.id
        limit %(limit)s
        """,
        {"q": query, "limit": limit},
    )


async def search_all_tenants(session: TenantSession, query: str, limit: int) -> list[Row]:
    """Fault search_unscoped: one global index, the caller's tenant *boosted* instead of filtered."""
    return await session.fetch_all(
        f"""
        select {_NOTE_COLUMNS} from notes n
        where n.search @@ plainto_tsquery('simple', %(q)s)
        order by (n.tenant_id = %(tenant_id)s) desc, ts_rank(n.search, plainto_tsquery('simple', %(q)s)) desc, n.id
        limit %(limit)s
        """,
        {"q": query, "limit": limit},
    )


async def count(session: TenantSession) -> int:
    row = await session.fetch_one("select count(*) as n from notes where tenant_id = %(tenant_id)s")
    return int(row["n"]) if row else 0


async def create(
    session: TenantSession, *, title: str, body: str, author: str, tags: list[str], owner: UUID | None = None
) -> UUID:
    """``owner`` exists only for the seeded fault mass_assignment_tenant (the bulk-import shape)."""
    row = await session.fetch_one(
        """
        insert into notes (tenant_id, title, body, author)
        values (coalesce(%(owner)s, %(tenant_id)s), %(title)s, %(body)s, %(author)s) returning id
        """,
        {"title": title, "body": body, "author": author, "owner": owner},
    )
    assert row is not None
    note_id: UUID = row["id"]
    if owner is None:
        for name in dict.fromkeys(tags):
            await attach_tag(session, note_id, name)
    return note_id


async def attach_tag(session: TenantSession, note_id: UUID, name: str) -> None:
    await session.execute(
        """
        with tag as (
            insert into tags (tenant_id, name) values (%(tenant_id)s, %(name)s)
            on conflict (tenant_id, name) do update set name = excluded.name
            returning id
        )
        insert into note_tags (tenant_id, note_id, tag_id)
        select %(tenant_id)s, %(note_id)s, id from tag
        on conflict do nothing
        """,
        {"name": name, "note_id": note_id},
    )


async def update(session: TenantSession, note_id: UUID, *, title: str | None, body: str | None) -> bool:
    if faults.idor_update.active:
        # Fault idor_update: "only active tenants may write", checked in the statement; the note
        # is never tied to that tenant (n.tenant_id = t.id is missing).
        changed = await session.execute(
            """
            update notes n set title = coalesce(%(title)s, n.title), body = coalesce(%(body)s, n.body),
                               updated_at = clock_timestamp()
            from tenants t where t.id = %(tenant_id)s and t.status = 'active' and n.id = %(id)s
            """,
            {"id": note_id, "title": title, "body": body},
        )
        return changed == 1
    changed = await session.execute(
        """
        update notes set title = coalesce(%(title)s, title), body = coalesce(%(body)s, body),
                         updated_at = clock_timestamp()
        where tenant_id = %(tenant_id)s and id = %(id)s
        """,
        {"id": note_id, "title": title, "body": body},
    )
    return changed == 1


async def delete(session: TenantSession, note_id: UUID) -> bool:
    if faults.idor_delete.active:
        # Fault idor_delete: the same uncorrelated "tenant is active" join as idor_update.
        deleted = await session.execute(
            "delete from notes n using tenants t where t.id = %(tenant_id)s and t.status = 'active' and n.id = %(id)s",
            {"id": note_id},
        )
        return deleted == 1
    deleted = await session.execute(
        "delete from notes where tenant_id = %(tenant_id)s and id = %(id)s", {"id": note_id}
    )
    return deleted == 1
