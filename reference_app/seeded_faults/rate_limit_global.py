"""The rate limiter is keyed by client address, and every tenant arrives through one gateway.

One noisy tenant exhausts the bucket of all. Realised in ``limits.py``. A noisy
neighbour with quiet tenants' throttling measured should catch it.

Control: ``OPS-RATE-LIMIT-PER-TENANT``.
"""

from __future__ import annotations

LAYER = "operations"
CONTROL = "OPS-RATE-LIMIT-PER-TENANT"
BRANCH_IN = "limits.py"  # still a branch there, guarded by faults.rate_limit_global.active
