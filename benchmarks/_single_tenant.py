"""What targets (b) and (c) of ``isolation_overhead.py`` share: the single-tenant read and its pool.

``single_tenant`` is a copy of the seeded ``notes``, ``tags`` and ``note_tags`` rows as a
single-tenant service would store them: no ``tenant_id``, ``id`` as the primary key, no
row-level security. ``isolation_overhead.py`` creates it.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

SINGLE_TENANT_DSN_ENV = "BENCH_SINGLE_TENANT_DSN"

# The reference app's note read (reference_app/dal/notes.py: _NOTE_COLUMNS and get) without the
# tenant filter, on the single-tenant copy of the tables: still one indexed lookup of the note
# and an index scan of its tags.
SINGLE_TENANT_GET = """
    select n.id, n.title, n.body, n.author, n.created_at, n.updated_at,
        coalesce((select array_agg(t.name order by t.name) from single_tenant.note_tags nt
                  join single_tenant.tags t on t.id = nt.tag_id
                  where nt.note_id = n.id), '{}') as tags
    from single_tenant.notes n where n.id = %(id)s
"""


async def _autocommit(conn: AsyncConnection[Any]) -> None:
    await conn.set_autocommit(True)


def single_tenant_pool(dsn: str, name: str) -> AsyncConnectionPool[AsyncConnection[DictRow]]:
    """Sized like the reference app's pool (reference_app/dal/session.py), without its reset callback."""
    return AsyncConnectionPool(
        dsn,
        min_size=2,
        max_size=20,
        open=False,
        configure=_autocommit,
        kwargs={"row_factory": dict_row},
        name=name,
    )
