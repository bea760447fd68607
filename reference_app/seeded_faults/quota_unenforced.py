"""The storage-quota check reads usage from a per-process snapshot that writes never refresh.

A tenant writes far past its plan until the snapshot expires. Realised as
``_usage_for_check`` of ``limits.py``. Writing past the quota should catch it.

Control: ``OPS-QUOTA-ENFORCED``.
"""

from __future__ import annotations

import time
from uuid import UUID

from reference_app import limits
from reference_app.dal.session import TenantSession

LAYER = "operations"
CONTROL = "OPS-QUOTA-ENFORCED"

SNAPSHOT_SECONDS = 300.0
_snapshots: dict[UUID, tuple[float, limits.Usage]] = {}


async def _usage_for_check(session: TenantSession) -> limits.Usage:
    """Usage "refreshed every five minutes", to spare the count on every write; no lock either."""
    cached = _snapshots.get(session.tenant_id)
    if cached is None or cached[0] < time.monotonic():
        cached = (time.monotonic() + SNAPSHOT_SECONDS, await limits.usage(session))
        _snapshots[session.tenant_id] = cached
    return cached[1]


REPLACES = {limits._usage_for_check: _usage_for_check}
