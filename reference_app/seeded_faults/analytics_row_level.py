"""Analytics gained a per-tenant drill-down for the sales team and lost the k-tenant floor.

Groups of one tenant, named by slug, are returned. Realised as
``notes_per_plan_per_day`` of ``dal/analytics.py``.
Analytics output scanned for tenant identifiers and small groups should catch it.

Control: ``APP-ANALYTICS-AGGREGATE-ONLY``.
"""

from __future__ import annotations

from reference_app.dal import analytics
from reference_app.dal.session import PlatformSession, Row

LAYER = "application"
CONTROL = "APP-ANALYTICS-AGGREGATE-ONLY"


async def notes_per_plan_per_day(session: PlatformSession, *, days: int, min_tenants: int) -> tuple[list[Row], int]:
    """The sales drill-down: per tenant, and without the k floor."""
    rows = await session.fetch_all(
        """
        select t.plan, (n.created_at at time zone 'UTC')::date as day, t.slug as tenant,
               count(distinct n.tenant_id) as tenants, count(*) as notes
        from notes n join tenants t on t.id = n.tenant_id
        where n.created_at >= now() - make_interval(days => %(days)s)
        group by 1, 2, 3 order by 2, 1, 3
        """,
        {"days": days},
    )
    return rows, 0


REPLACES = {analytics.notes_per_plan_per_day: notes_per_plan_per_day}
