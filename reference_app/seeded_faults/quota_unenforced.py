"""The storage-quota check reads usage from a per-process snapshot that writes never refresh.

A tenant writes far past its plan until the snapshot expires. Realised in
``limits.py``. Writing past the quota should catch it.

Control: ``OPS-QUOTA-ENFORCED``.
"""

from __future__ import annotations

LAYER = "operations"
CONTROL = "OPS-QUOTA-ENFORCED"
BRANCH_IN = "limits.py"  # still a branch there, guarded by faults.quota_unenforced.active
