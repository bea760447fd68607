"""The rate limiter is keyed by client address, and every tenant arrives through one gateway.

One noisy tenant exhausts the bucket of all. Realised as ``bucket_key`` of ``limits.py``. A
noisy neighbour with quiet tenants' throttling measured should catch it.

Control: ``OPS-RATE-LIMIT-PER-TENANT``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app import limits

LAYER = "operations"
CONTROL = "OPS-RATE-LIMIT-PER-TENANT"


def bucket_key(tenant_id: UUID, client_address: str | None) -> str:
    """Keyed by the caller's address, "so one abusive client is slowed whatever tenant it claims"."""
    return f"address:{client_address}"


REPLACES = {limits.bucket_key: bucket_key}
