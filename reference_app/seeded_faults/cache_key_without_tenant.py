"""The cache key dropped the tenant "because note ids are UUIDs, globally unique anyway".

After tenant A reads a note, tenant B asking for the same id gets A's note from the
cache. Realised as ``cache_key`` of ``cache.py``. Cold/warm/repeat reads of the same URL by two tenants
should catch it.

Control: ``APP-CACHE-TENANT-KEY``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app import cache

LAYER = "application"
CONTROL = "APP-CACHE-TENANT-KEY"


def cache_key(tenant_id: UUID, key: str) -> str:
    """The tenant left out of the key: "note ids are UUIDs, globally unique anyway"."""
    return f"{cache.NAMESPACE}:{key}"


REPLACES = {cache.cache_key: cache_key}
