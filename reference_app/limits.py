"""Per-tenant rate limits and storage quotas, by plan.

Rate: a token bucket per tenant (``rate`` tokens a second, at most ``burst``), kept in the API
process and keyed by the tenant of the *verified* token, so a forged token cannot drain a
victim's bucket and one tenant's burst never throttles another. A refusal (429 with
``Retry-After``) is answered after ``REFERENCE_APP_THROTTLE_DELAY_MS`` (100 ms): a client that
retries at once, as a flood does, is slowed down instead of keeping the API process busy with
refusals while other tenants wait.

Storage: the tenant's note count and attachment bytes, checked inside the write's own
transaction under a per-tenant advisory lock, so two concurrent writes cannot both squeeze
under the limit.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from uuid import UUID

from reference_app import faults
from reference_app.config import PlanLimits
from reference_app.dal.session import TenantSession


@dataclass(frozen=True)
class Decision:
    allowed: bool
    plan: str
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after: int  # until the next request would be allowed (0 when allowed)


class RateLimiter:
    """Token buckets keyed by tenant; idle buckets are forgotten first when ``max_keys`` is reached."""

    def __init__(
        self, plans: Mapping[str, PlanLimits], max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._plans = plans
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, updated)
        self._max_keys = max_keys
        self._clock = clock

    def take(self, key: str, plan: str) -> Decision:
        limits = self._plans[plan]
        now = self._clock()
        tokens, updated = self._buckets.get(key, (float(limits.burst), now))
        tokens = min(float(limits.burst), tokens + (now - updated) * limits.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return Decision(
            allowed=allowed,
            plan=plan,
            limit=limits.burst,
            remaining=int(tokens),
            reset_seconds=math.ceil((limits.burst - tokens) / limits.rate),
            retry_after=0 if allowed else max(1, math.ceil((1.0 - tokens) / limits.rate)),
        )

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)


def bucket_key(tenant_id: UUID, client_address: str | None) -> str:
    if faults.rate_limit_global.active:
        # Fault rate_limit_global: keyed by client address; every tenant comes through the same gateway.
        return f"address:{client_address}"
    return f"tenant:{tenant_id}"


@dataclass(frozen=True)
class Usage:
    notes: int
    attachment_bytes: int


class QuotaExceeded(Exception):
    """A write would take the tenant past its plan; the API answers 403 naming the quota."""

    def __init__(self, quota: str, plan: str, limit: int, used: int) -> None:
        super().__init__(f"{quota} quota of the {plan} plan exceeded")
        self.quota = quota
        self.plan = plan
        self.limit = limit
        self.used = used


async def usage(session: TenantSession) -> Usage:
    row = await session.fetch_one(
        """
        select (select count(*) from notes where tenant_id = %(tenant_id)s) as notes,
               (select coalesce(sum(size_bytes), 0) from attachments where tenant_id = %(tenant_id)s) as bytes
        """
    )
    assert row is not None
    return Usage(notes=int(row["notes"]), attachment_bytes=int(row["bytes"]))


# Fault quota_unenforced: usage snapshots per tenant, "refreshed every five minutes".
_snapshots: dict[UUID, tuple[float, Usage]] = {}
SNAPSHOT_SECONDS = 300.0


async def _usage_for_check(session: TenantSession) -> Usage:
    if not faults.quota_unenforced.active:
        await session.execute("select pg_advisory_xact_lock(hashtextextended(%(tenant_id)s::text, 0))")
        return await usage(session)
    cached = _snapshots.get(session.tenant_id)
    if cached is None or cached[0] < time.monotonic():
        cached = (time.monotonic() + SNAPSHOT_SECONDS, await usage(session))
        _snapshots[session.tenant_id] = cached
    return cached[1]


async def check_storage(
    session: TenantSession,
    plan_of: Callable[[], tuple[str, PlanLimits]],
    *,
    notes: int = 0,
    attachment_bytes: int = 0,
) -> None:
    """Raise QuotaExceeded if adding ``notes`` notes and ``attachment_bytes`` bytes passes the plan.

    ``plan_of`` is asked after the usage query: the tenant's plan arrives with the unit of work's
    first round trip, which that query is part of.
    """
    current = await _usage_for_check(session)
    plan, limits = plan_of()
    if notes and current.notes + notes > limits.notes:
        raise QuotaExceeded("notes", plan, limits.notes, current.notes)
    if attachment_bytes and current.attachment_bytes + attachment_bytes > limits.attachment_bytes:
        raise QuotaExceeded("attachment_bytes", plan, limits.attachment_bytes, current.attachment_bytes)
