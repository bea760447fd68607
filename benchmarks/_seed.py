"""Bulk seeding of one tenant's data with SQL, shared by the benchmarks (far faster than the API)."""

from __future__ import annotations

import psycopg


def seed(platform_dsn: str, tenant_id: str, notes: int) -> None:
    """``notes`` notes with twenty tags spread over them and a comment on about every tenth note."""
    with psycopg.connect(platform_dsn) as conn:
        conn.execute(
            "insert into notes (tenant_id, title, body, author) "
            "select %s, 'note ' || g, repeat('lorem ipsum ', 20) || g, 'bench' from generate_series(1, %s) g",
            (tenant_id, notes),
        )
        conn.execute(
            "insert into tags (tenant_id, name) select %s, 'tag' || g from generate_series(1, 20) g", (tenant_id,)
        )
        conn.execute(
            "insert into note_tags (tenant_id, note_id, tag_id) "
            "select n.tenant_id, n.id, t.id from notes n join tags t on t.tenant_id = n.tenant_id "
            "and t.name = 'tag' || (1 + abs(hashtext(n.id::text)) %% 20) where n.tenant_id = %s",
            (tenant_id,),
        )
        conn.execute(
            "insert into comments (tenant_id, note_id, body, author) "
            "select tenant_id, id, 'a comment', 'bench' from notes where tenant_id = %s and random() < 0.1",
            (tenant_id,),
        )
