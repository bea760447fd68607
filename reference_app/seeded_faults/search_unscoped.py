"""The internal search service queries notes without the tenant filter.

The search service "indexes every tenant", so it was given the platform DSN; its query
relies on RLS that the platform role bypasses. Search as one tenant finds every tenant's
notes. Realised in the internal service, as
``search`` of ``dal/notes.py``. Searches for a foreign canary should catch it.

Control: ``API-LIST-FILTER``.
"""

from __future__ import annotations

from reference_app.dal import notes
from reference_app.dal.session import Row, TenantSession

LAYER = "api"
CONTROL = "API-LIST-FILTER"
PLATFORM_DSN = True


ONLY_IN = "internal"


async def search(session: TenantSession, query: str, limit: int) -> list[Row]:
    """One global index: the caller's tenant is *boosted* instead of filtered."""
    return await session.fetch_all(
        f"""
        select {notes.NOTE_COLUMNS} from notes n
        where n.search @@ plainto_tsquery('simple', %(q)s)
        order by (n.tenant_id = %(tenant_id)s) desc, ts_rank(n.search, plainto_tsquery('simple', %(q)s)) desc, n.id
        limit %(limit)s
        """,
        {"q": query, "limit": limit},
    )


REPLACES = {notes.search: search}
