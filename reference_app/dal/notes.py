"""Notes, and the tags attached to them."""

from __future__ import annotations

import base64
from datetime import datetime
from uuid import UUID

from reference_app.dal.session import Row, TenantSession

NOTE_COLUMNS = """
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


async def get(session: TenantSession, note_id: UUID) -> Row | None:
    return await session.fetch_one(
        f"select {NOTE_COLUMNS} from notes n where n.tenant_id = %(tenant_id)s and n.id = %(id)s",
        {"id": note_id},
    )


async def get_many(session: TenantSession, note_ids: list[UUID]) -> list[Row]:
    """The caller's notes among ``note_ids``, oldest first (ids of other tenants simply do not match)."""
    return await session.fetch_all(
        f"select {NOTE_COLUMNS} from notes n where n.tenant_id = %(tenant_id)s and n.id = any(%(ids)s) "
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
    return await session.fetch_all(
        f"""
        select {NOTE_COLUMNS} from notes n
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


async def search(session: TenantSession, query: str, limit: int) -> list[Row]:
    return await session.fetch_all(
        f"""
        select {NOTE_COLUMNS} from notes n
        where n.tenant_id = %(tenant_id)s and n.search @@ plainto_tsquery('simple', %(q)s)
        order by ts_rank(n.search, plainto_tsquery('simple', %(q)s)) desc, n.id
        limit %(limit)s
        """,
        {"q": query, "limit": limit},
    )


async def count(session: TenantSession) -> int:
    row = await session.fetch_one("select count(*) as n from notes where tenant_id = %(tenant_id)s")
    return int(row["n"]) if row else 0


async def create(session: TenantSession, *, title: str, body: str, author: str, tags: list[str]) -> UUID:
    row = await session.fetch_one(
        """
        insert into notes (tenant_id, title, body, author)
        values (%(tenant_id)s, %(title)s, %(body)s, %(author)s) returning id
        """,
        {"title": title, "body": body, "author": author},
    )
    assert row is not None
    note_id: UUID = row["id"]
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
    deleted = await session.execute(
        "delete from notes where tenant_id = %(tenant_id)s and id = %(id)s", {"id": note_id}
    )
    return deleted == 1
