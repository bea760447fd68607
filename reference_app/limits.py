"""Per-tenant rate limits and storage quotas, by plan.

Rate: a token bucket per tenant (``rate`` tokens a second, at most ``burst``), kept in PostgreSQL
(``rate_buckets``) so that every API worker process charges the same bucket, and keyed by the
tenant of the *verified* token, so a forged token cannot drain a victim's bucket and one tenant's
burst never throttles another. The charge rides in the tenant gate's statement
(:data:`GATE_AND_CHARGE`): no round trip of its own. A unit of work of several statements commits
its gate on its own before its BEGIN, in the same message (see ``dal/session.py``), so a write's
rollback does not undo its charge and the bucket's row lock is held only while the gate runs. A
single read's gate shares the read's one-statement transaction. A refusal (429 with ``Retry-After``) is answered after
``REFERENCE_APP_THROTTLE_DELAY_MS`` (100 ms): a client that retries at once, as a flood does, is
slowed down instead of keeping the API busy with refusals while other tenants wait.

Storage: the tenant's note count and attachment bytes, checked inside the write's own
transaction under a per-tenant advisory lock, so two concurrent writes (whichever worker process
serves them) cannot both squeeze under the limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from reference_app.config import PlanLimits
from reference_app.dal.session import READ_ONLY, TENANT_GATE, PlatformSession, Row, TenantSession


@dataclass(frozen=True)
class Decision:
    allowed: bool
    plan: str
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after: int  # until the next request would be allowed (0 when allowed)


# The bucket after refilling it for the time since its last charge (at most ``burst`` tokens).
_REFILLED = (
    "least(excluded.burst, b.tokens"
    " + greatest(0, extract(epoch from excluded.updated_at - b.updated_at)::float8) * excluded.rate)"
)
# Take a token if there is one; a refusal only records the refill. The row lock taken here orders
# the charges of all worker processes.
_UPSERT = f"""
    on conflict (key) do update set
        rate = excluded.rate, burst = excluded.burst,
        tokens = {_REFILLED} - case when {_REFILLED} >= 1 then 1 else 0 end,
        allowed = {_REFILLED} >= 1,
        updated_at = greatest(b.updated_at, excluded.updated_at)
    returning b.tokens, b.allowed
"""
_INSERT = "insert into rate_buckets as b (key, rate, burst, tokens, allowed, updated_at)"

# The tenant gate (session.TENANT_GATE) and the charge of the tenant's bucket, in one statement. Only
# a request the gate lets through is charged (an active tenant; a caller not removed from it), at its
# plan's current limits (``plans``: the JSON of :meth:`RateLimiter.gate_params`). It also makes the rest of
# the transaction read-only (session.READ_ONLY), whatever the gate found (no tenant row: a row of nulls,
# which the gate refuses like a missing one): a single read's; a unit of work of several statements
# commits its gate on its own, and the flag ends with it.
GATE_AND_CHARGE = f"""
    with gate as ({TENANT_GATE}),
    charged as (
        {_INSERT}
        select %(bucket)s, p.rate, p.burst, p.burst - 1, true, clock_timestamp()
        from gate g cross join lateral jsonb_to_record(%(plans)s::jsonb -> g.plan) as p(rate float8, burst float8)
        where g.status = 'active' and (g.member_role is not null or not g.removed)
        {_UPSERT}
    )
    select g.*, c.tokens, c.allowed
    from (select {READ_ONLY}) read_only left join gate g on true left join charged c on true
"""


class RateLimiter:
    """The plans' limits for :data:`GATE_AND_CHARGE`, and the decision read from its row."""

    def __init__(self, plans: Mapping[str, PlanLimits]) -> None:
        self._plans = plans
        self._plans_json = json.dumps({name: {"rate": p.rate, "burst": p.burst} for name, p in plans.items()})

    def gate_params(self, key: str) -> dict[str, Any]:
        return {"bucket": key, "plans": self._plans_json}

    def decision(self, row: Row, plan: str) -> Decision:
        limits = self._plans[plan]
        allowed, tokens = bool(row["allowed"]), float(row["tokens"] or 0.0)
        return Decision(
            allowed=allowed,
            plan=plan,
            limit=limits.burst,
            remaining=int(tokens),
            reset_seconds=math.ceil((limits.burst - tokens) / limits.rate),
            retry_after=0 if allowed else max(1, math.ceil((1.0 - tokens) / limits.rate)),
        )


async def forget_bucket(session: PlatformSession, tenant_id: UUID) -> None:
    """A deprovisioned tenant's bucket goes with it."""
    await session.execute("delete from rate_buckets where key = %(key)s", {"key": f"tenant:{tenant_id}"})


def bucket_key(tenant_id: UUID, client_address: str | None) -> str:
    """The bucket a request is charged to: its verified tenant's, never the caller's address (every tenant
    may arrive through one gateway, and one noisy tenant would then throttle all)."""
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


async def _usage_for_check(session: TenantSession) -> Usage:
    """The tenant's usage now, with its writes serialised (a transaction-level advisory lock per tenant), so
    two concurrent writes cannot both fit under the quota that only one of them fits."""
    await session.execute("select pg_advisory_xact_lock(hashtextextended(%(tenant_id)s::text, 0))")
    return await usage(session)


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
