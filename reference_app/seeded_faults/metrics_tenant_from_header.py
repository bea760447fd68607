"""Request metrics take their tenant label from the ``X-Tenant-ID`` header the old gateway set.

Clients of the JWT API never send it, so every request is counted under ``none`` and no
tenant's traffic can be told apart. Realised as ``_tenant_of`` of ``metrics.py``. Scraping
the metrics after a tenant's requests should catch it.

Control: ``OPS-MONITORING-COVERAGE``.
"""

from __future__ import annotations

from uuid import UUID

from starlette.datastructures import Headers
from starlette.types import Scope

from reference_app import metrics

LAYER = "operations"
CONTROL = "OPS-MONITORING-COVERAGE"


def _tenant_of(scope: Scope) -> UUID | str | None:
    """The tenant the gateway named in a header, as before the JWT API."""
    return Headers(scope=scope).get("x-tenant-id")


REPLACES = {metrics._tenant_of: _tenant_of}
