"""The job queue: one row per background job, in the tenant's own rows.

Tenants enqueue and read their jobs through their unit of work (row-level security applies).
Only the worker's *claim* crosses tenants, through the platform escape hatch: it picks the
oldest queued job of any tenant with ``FOR UPDATE SKIP LOCKED``, so several workers never
take the same job and never wait for each other. Running the job is tenant work again.

A worker may die with a job claimed. Its claim is then a lease: a job still ``running`` after
``lease_seconds`` that no transaction holds is claimed again, and each claim counts an attempt.
The attempt number fences the work: whatever a job writes commits only in a transaction that
first locks the job's row *at the attempt it claimed* (:func:`hold`), so a worker that lost its
lease writes nothing, and a job completes exactly once however often it is started.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from reference_app.dal.session import PlatformSession, Row, TenantSession

NOTIFY_CHANNEL = "pake_jobs"
_PUBLIC = "id, kind, status, requested_by, result_bytes, error, created_at, started_at, finished_at"


# A job that took this many workers down with it is failed rather than tried again.
MAX_ATTEMPTS = 3


class LeaseLost(RuntimeError):
    """Another worker claimed the job after this one's lease ran out; this one must write nothing."""


@dataclass(frozen=True)
class ClaimedJob:
    tenant_id: UUID
    id: UUID
    kind: str
    requested_by: str
    payload: bytes | None
    attempt: int = 1


async def enqueue(session: TenantSession, kind: str, requested_by: str, payload: bytes | None = None) -> Row:
    row = await session.fetch_one(
        f"insert into jobs (tenant_id, kind, requested_by, payload) "
        f"values (%(tenant_id)s, %(kind)s, %(requested_by)s, %(payload)s) returning {_PUBLIC}",
        {"kind": kind, "requested_by": requested_by, "payload": payload},
    )
    assert row is not None
    # Delivered at commit, so the worker never wakes for a job it cannot see yet.
    await session.execute("select pg_notify(%(channel)s, %(tenant_id)s::text)", {"channel": NOTIFY_CHANNEL})
    return row


async def get(session: TenantSession, job_id: UUID, kind: str) -> Row | None:
    return await session.fetch_one(
        f"select {_PUBLIC} from jobs where tenant_id = %(tenant_id)s and id = %(id)s and kind = %(kind)s",
        {"id": job_id, "kind": kind},
    )


async def list_recent(session: TenantSession, kind: str, limit: int) -> list[Row]:
    return await session.fetch_all(
        f"select {_PUBLIC} from jobs where tenant_id = %(tenant_id)s and kind = %(kind)s "
        "order by created_at desc, id desc limit %(limit)s",
        {"kind": kind, "limit": limit},
    )


async def result(session: TenantSession, job_id: UUID, kind: str) -> Row | None:
    return await session.fetch_one(
        "select status, result from jobs where tenant_id = %(tenant_id)s and id = %(id)s and kind = %(kind)s",
        {"id": job_id, "kind": kind},
    )


_HOLD = (
    "select result from jobs where tenant_id = %(tenant_id)s and id = %(id)s "
    "and status = 'running' and attempts = %(attempt)s for update"
)


async def hold(session: TenantSession, job: ClaimedJob) -> Row:
    """Lock the job's row for the rest of the transaction, at the attempt this worker claimed;
    returns the row (its ``result`` is set once an import's rows are in). Raises :class:`LeaseLost`."""
    row = await session.fetch_one(_HOLD, {"id": job.id, "attempt": job.attempt})
    if row is None:
        raise LeaseLost(f"job {job.id} attempt {job.attempt}")
    return row


async def succeed(session: TenantSession, job_id: UUID, result: bytes | None, *, status: str = "succeeded") -> None:
    """Recorded in the job's own tenant transaction, so the result and the status commit together.

    ``status="running"`` stores an import's result while the job still has a step to go."""
    await session.execute(
        "update jobs set status = %(status)s, result = %(result)s, result_bytes = %(size)s, payload = null, "
        "finished_at = case when %(status)s = 'succeeded' then clock_timestamp() end "
        "where tenant_id = %(tenant_id)s and id = %(id)s",
        {"id": job_id, "result": result, "size": len(result) if result is not None else None, "status": status},
    )


# ------------------------------------------------------------------ platform: the queue itself
async def claim_next(session: PlatformSession, lease_seconds: float = 30.0) -> ClaimedJob | None:
    """The oldest queued job, or a running one whose lease ran out and that no worker holds
    (a worker holding it has its row locked, and SKIP LOCKED passes it by)."""
    row = await session.fetch_one(
        """
        update jobs set status = 'running', started_at = clock_timestamp(), attempts = attempts + 1
        where (tenant_id, id) = (
            select tenant_id, id from jobs
            where status in ('queued', 'running')
              and (status = 'queued' or started_at < clock_timestamp() - make_interval(secs => %(lease)s))
            order by created_at limit 1 for update skip locked)
        returning tenant_id, id, kind, requested_by, payload, attempts
        """,
        {"lease": lease_seconds},
    )
    if row is None:
        return None
    return ClaimedJob(row["tenant_id"], row["id"], row["kind"], row["requested_by"], row["payload"], row["attempts"])


async def hold_for(session: PlatformSession, job: ClaimedJob) -> None:
    """:func:`hold` for the platform step of a job (activating a restored tenant)."""
    row = await session.fetch_one(_HOLD, {"tenant_id": job.tenant_id, "id": job.id, "attempt": job.attempt})
    if row is None:
        raise LeaseLost(f"job {job.id} attempt {job.attempt}")


async def finish_for(session: PlatformSession, job: ClaimedJob) -> None:
    await session.execute(
        "update jobs set status = 'succeeded', finished_at = clock_timestamp() "
        "where tenant_id = %(tenant_id)s and id = %(id)s",
        {"tenant_id": job.tenant_id, "id": job.id},
    )


async def fail(session: PlatformSession, job: ClaimedJob, error: str) -> bool:
    """Fenced like :func:`hold`: False when another worker has the job now."""
    failed = await session.execute(
        "update jobs set status = 'failed', error = %(error)s, payload = null, finished_at = clock_timestamp() "
        "where tenant_id = %(tenant_id)s and id = %(id)s and status = 'running' and attempts = %(attempt)s",
        {"tenant_id": job.tenant_id, "id": job.id, "attempt": job.attempt, "error": error},
    )
    return failed == 1


async def enqueue_for(
    session: PlatformSession, tenant_id: UUID, kind: str, requested_by: str, payload: bytes | None
) -> Row:
    """Platform-initiated jobs (a restore into a new tenant): the job still belongs to that tenant."""
    row = await session.fetch_one(
        f"insert into jobs (tenant_id, kind, requested_by, payload) "
        f"values (%(tenant_id)s, %(kind)s, %(requested_by)s, %(payload)s) returning {_PUBLIC}",
        {"tenant_id": tenant_id, "kind": kind, "requested_by": requested_by, "payload": payload},
    )
    assert row is not None
    await session.execute(
        "select pg_notify(%(channel)s, %(tenant_id)s::text)", {"channel": NOTIFY_CHANNEL, "tenant_id": str(tenant_id)}
    )
    return row


async def get_for(session: PlatformSession, tenant_id: UUID, job_id: UUID) -> Row | None:
    return await session.fetch_one(
        f"select {_PUBLIC} from jobs where tenant_id = %(tenant_id)s and id = %(id)s",
        {"tenant_id": tenant_id, "id": job_id},
    )
