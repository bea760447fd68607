"""Request metrics take their tenant label from the ``X-Tenant-ID`` header the old gateway set.

Clients of the JWT API never send it, so every request is counted under ``none`` and no
tenant's traffic can be told apart. Realised in ``metrics.py``. Scraping the metrics after
a tenant's requests should catch it.

Control: ``OPS-MONITORING-COVERAGE``.
"""

from __future__ import annotations

LAYER = "operations"
CONTROL = "OPS-MONITORING-COVERAGE"
BRANCH_IN = "metrics.py"  # still a branch there, guarded by faults.metrics_tenant_from_header.active
