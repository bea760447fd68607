"""Deprovisioning purges a hard-coded list of tables and keeps the tenant row "for billing".

The list predates the audit log and the job queue, and so does the post-check that reads
the same list; the tenant row is only suspended, so nothing cascades. Rows of a
deprovisioned tenant survive. Realised as
``purge_tenant`` of ``api/routes/admin.py``. Counting the tenant's
rows in every table with a tenant column after deprovisioning should catch it.

Control: ``DATA-DEPROVISION-COMPLETE``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.api.errors import not_found
from reference_app.api.routes import admin
from reference_app.dal import tenants
from reference_app.dal.session import PlatformSession

LAYER = "data"
CONTROL = "DATA-DEPROVISION-COMPLETE"

# What deprovisioning purged before the audit log and the job queue existed.
LEGACY_TENANT_TABLES = ("note_tags", "comments", "attachments", "tags", "notes", "users")


async def purge_tenant(session: PlatformSession, tenant_id: UUID) -> dict[str, int]:
    """Purge the hard-coded list, keep the tenant row "for billing", and check the same list."""
    for table in LEGACY_TENANT_TABLES:
        await session.execute(f"delete from {table} where tenant_id = %(id)s", {"id": tenant_id})
    if await tenants.set_status(session, tenant_id, "suspended") is None:
        raise not_found("tenant")
    return await admin.remaining_rows(session, tenant_id, LEGACY_TENANT_TABLES)


REPLACES = {admin.purge_tenant: purge_tenant}
