"""The migrations create the tenant policies but never ENABLE or FORCE row-level security.

A policy on a table without ``ENABLE ROW LEVEL SECURITY`` is silently ignored, so the
catalog looks busy while nothing is enforced: the app role without tenant context reads
every tenant's rows. Realised by ``setup``: replaces
``enable_tenant_isolation`` of ``migrations/tenancy.py``. The catalog audit
(relrowsecurity / relforcerowsecurity) and the RLS probes should catch it.

Control: ``DATA-RLS-FORCED``.
"""

from __future__ import annotations

from reference_app.migrations import tenancy

LAYER = "data"
CONTROL = "DATA-RLS-FORCED"
AT_SETUP = True


def enable_tenant_isolation(table: str, column: str = "tenant_id") -> None:
    """The policy and the grants, and nothing that switches row-level security on for ``table``."""
    tenancy.create_tenant_policy(table, column)


REPLACES = {tenancy.enable_tenant_isolation: enable_tenant_isolation}
