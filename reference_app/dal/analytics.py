"""Cross-tenant analytics: aggregates only, and never a group smaller than k tenants.

The suppression happens in the query (``HAVING count(DISTINCT tenant_id) >= k``), so no
row-level or small-group figure ever reaches the application, let alone the response.
"""

from __future__ import annotations

from reference_app.dal.session import PlatformSession, Row


async def notes_per_plan_per_day(session: PlatformSession, *, days: int, min_tenants: int) -> tuple[list[Row], int]:
    """(groups of at least ``min_tenants`` tenants, number of groups suppressed)."""
    grouped = """
        select t.plan, (n.created_at at time zone 'UTC')::date as day,
               count(distinct n.tenant_id) as tenants, count(*) as notes
        from notes n join tenants t on t.id = n.tenant_id
        where n.created_at >= now() - make_interval(days => %(days)s)
        group by 1, 2
    """
    params = {"days": days, "k": min_tenants}
    rows = await session.fetch_all(
        f"select plan, day, tenants, notes from ({grouped}) g where tenants >= %(k)s order by day, plan", params
    )
    hidden = await session.fetch_one(f"select count(*) as n from ({grouped}) g where tenants < %(k)s", params)
    return rows, int(hidden["n"]) if hidden else 0
