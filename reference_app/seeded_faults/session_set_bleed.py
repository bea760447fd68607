"""Tenant context set at session scope on pooled connections, which nothing resets.

The DAL runs ``set_config('app.tenant_id', id, false)`` and keeps a tenant already present
on the connection (meant for nested units of work), and binds queries to the connection's
tenant. The pool has no reset callback (the secure app needs none: its setting is
transaction-local), so the next request that borrows the connection inherits the previous
tenant: tenant B reads and writes tenant A's rows. Realised as
``TenantSession._set_tenant`` (``dal/session.py``). The pool-bleed probe and the
cross-tenant/concurrency oracles should catch it.

Control: ``DATA-POOL-BLEED``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.dal.session import TenantSession

LAYER = "data"
CONTROL = "DATA-POOL-BLEED"


async def _set_tenant(self: TenantSession, *, read_only: bool) -> None:
    """The tenant lives on the connection, at session scope (and no read-only flag goes with it).

    A tenant already on the connection is kept "so a nested unit of work cannot clobber the
    outer one's tenant", and queries are bound to the connection's tenant. Nothing clears a
    session-level setting, so whatever tenant used the connection last is still there for the
    next borrower.
    """
    cursor = await self._conn.execute(
        "select set_config('app.tenant_id', coalesce(nullif(current_setting('app.tenant_id', true), ''), %s), false)"
        " as tenant",
        (str(self.tenant_id),),
    )
    row = await cursor.fetchone()
    assert row is not None
    self.tenant_id = UUID(row["tenant"])


REPLACES = {TenantSession._set_tenant: _set_tenant}
