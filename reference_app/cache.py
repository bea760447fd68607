"""A tenant-scoped cache: Redis when ``REFERENCE_APP_REDIS_URL`` is set, in-process otherwise.

Callers never build keys: every operation takes the tenant id, and :func:`cache_key` puts it
in the key, so one tenant's entry can never answer another tenant's lookup. The in-process
backend is a bounded LRU with a TTL per entry (``cachetools.TTLCache``); Redis expires entries itself. Clearing a
tenant (a tag deleted, the tenant deprovisioned) removes every key under its prefix.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from cachetools import TTLCache

NAMESPACE = "pake"


def tenant_prefix(tenant_id: UUID) -> str:
    return f"{NAMESPACE}:t:{tenant_id}:"


def cache_key(tenant_id: UUID, key: str) -> str:
    return tenant_prefix(tenant_id) + key


class TenantCache(Protocol):
    async def get(self, tenant_id: UUID, key: str) -> bytes | None: ...

    async def set(self, tenant_id: UUID, key: str, value: bytes) -> None: ...

    async def delete(self, tenant_id: UUID, key: str) -> None: ...

    async def clear_tenant(self, tenant_id: UUID) -> None: ...

    async def close(self) -> None: ...


class MemoryCache:
    """Bounded LRU with a TTL: at most ``max_entries`` keys, each for ``ttl_seconds``."""

    def __init__(self, max_entries: int, ttl_seconds: float) -> None:
        self._entries: TTLCache[str, bytes] = TTLCache(maxsize=max_entries, ttl=ttl_seconds)

    async def get(self, tenant_id: UUID, key: str) -> bytes | None:
        return self._entries.get(cache_key(tenant_id, key))

    async def set(self, tenant_id: UUID, key: str, value: bytes) -> None:
        if self._entries.maxsize:  # no entries (several API processes without Redis): keep nothing, never raise
            self._entries[cache_key(tenant_id, key)] = value

    async def delete(self, tenant_id: UUID, key: str) -> None:
        self._entries.pop(cache_key(tenant_id, key), None)

    async def clear_tenant(self, tenant_id: UUID) -> None:
        prefix = tenant_prefix(tenant_id)
        for full in [k for k in self._entries if k.startswith(prefix)]:
            self._entries.pop(full, None)

    def __len__(self) -> int:
        self._entries.expire()
        return len(self._entries)

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    def __init__(self, url: str, ttl_seconds: int) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url)
        self._ttl = ttl_seconds

    async def get(self, tenant_id: UUID, key: str) -> bytes | None:
        value = await self._redis.get(cache_key(tenant_id, key))
        return value if isinstance(value, bytes) else None

    async def set(self, tenant_id: UUID, key: str, value: bytes) -> None:
        await self._redis.set(cache_key(tenant_id, key), value, ex=self._ttl)

    async def delete(self, tenant_id: UUID, key: str) -> None:
        await self._redis.delete(cache_key(tenant_id, key))

    async def clear_tenant(self, tenant_id: UUID) -> None:
        batch: list[bytes] = []
        async for full in self._redis.scan_iter(match=tenant_prefix(tenant_id) + "*", count=500):
            batch.append(full)
            if len(batch) >= 500:
                await self._redis.delete(*batch)
                batch.clear()
        if batch:
            await self._redis.delete(*batch)

    async def close(self) -> None:
        await self._redis.aclose()


def create_cache(redis_url: str | None, max_entries: int, ttl_seconds: int) -> TenantCache:
    return RedisCache(redis_url, ttl_seconds) if redis_url else MemoryCache(max_entries, ttl_seconds)
