"""The background worker: ``python -m reference_app worker``.

It waits on ``LISTEN pake_jobs`` (with a polling fallback), claims one job at a time through
the platform escape hatch (``FOR UPDATE SKIP LOCKED``), and runs it as tenant work:
``Database.tenant(job.tenant_id)`` opens a transaction whose tenant setting is
transaction-local, so the context is set explicitly for each job and gone before the next
one. A failed job is recorded with a generic message; the detail goes to the log only.

Killed mid-job, the worker leaves the job claimed; its lease runs out and a worker runs it
again, fenced so that it completes once (see ``dal/jobs.py``). When PostgreSQL goes away the
worker does not exit: the job's claim stays and the worker reconnects every second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from contextlib import suppress
from dataclasses import dataclass
from uuid import UUID

import psycopg

from reference_app.dal import Database, bundle, jobs
from reference_app.dal import tenants as tenant_rows

logger = logging.getLogger("reference_app.worker")
RECONNECT_DELAY_SECONDS = 1.0


@dataclass
class ExportRunner:
    """Builds one tenant's bundle. One runner per job: it is bound to the tenant it was made for."""

    database: Database
    tenant_id: UUID

    async def build(self) -> bytes:
        # One snapshot for every table: a tenant writing meanwhile cannot make the bundle disagree with itself.
        async with self.database.tenant(self.tenant_id, snapshot=True) as session:
            return bundle.encode(await bundle.export_rows(session))


class Worker:
    def __init__(
        self, database: Database, listen_dsn: str, poll_seconds: float = 1.0, lease_seconds: float = 30.0
    ) -> None:
        self.database = database
        self.listen_dsn = listen_dsn
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.processed = 0

    def export_runner(self, job: jobs.ClaimedJob) -> ExportRunner:
        return ExportRunner(self.database, job.tenant_id)

    async def run_once(self) -> bool:
        """Claim and run one job; False when the queue is empty.

        A lost database propagates (the job keeps its claim until its lease runs out); any other
        error fails the job."""
        async with self.database.platform("worker claims the next queued job of any tenant") as session:
            job = await jobs.claim_next(session, self.lease_seconds)
        if job is None:
            return False
        logger.info("job %s (%s) for tenant %s started, attempt %d", job.id, job.kind, job.tenant_id, job.attempt)
        try:
            if job.attempt > jobs.MAX_ATTEMPTS:
                raise RuntimeError(f"gave up after {jobs.MAX_ATTEMPTS} attempts")
            if job.kind == "export":
                await self._export(job)
            else:
                await self._restore(job)
        except jobs.LeaseLost:
            logger.warning("job %s (%s): another worker took it over; this attempt wrote nothing", job.id, job.kind)
        except psycopg.OperationalError:
            raise
        except Exception:
            logger.exception("job %s (%s) for tenant %s failed", job.id, job.kind, job.tenant_id)
            async with self.database.platform("worker records a failed job") as session:
                await jobs.fail(session, job, f"the {job.kind} failed; see the service logs")
        else:
            logger.info("job %s (%s) for tenant %s succeeded", job.id, job.kind, job.tenant_id)
        self.processed += 1
        return True

    async def _export(self, job: jobs.ClaimedJob) -> None:
        data = await self.export_runner(job).build()
        async with self.database.tenant(job.tenant_id) as session:
            await jobs.hold(session, job)
            await jobs.succeed(session, job.id, data)

    async def _restore(self, job: jobs.ClaimedJob) -> None:
        """Two steps, each fenced: the rows (tenant work), then the activation (platform work).
        An attempt that finds the rows in from an earlier one only activates."""
        async with self.database.tenant(job.tenant_id) as session:
            if (await jobs.hold(session, job))["result"] is None:
                assert job.payload is not None, "an import job carries its bundle until its rows are in"
                data = bundle.validate(json.loads(job.payload))
                counts = await bundle.import_rows(session, data)
                await session.execute(
                    "insert into audit_log (tenant_id, actor, action, entity, entity_id) "
                    "values (%(tenant_id)s, %(actor)s, 'import', 'tenant', %(tenant_id)s::text)",
                    {"actor": job.requested_by},
                )
                await jobs.succeed(session, job.id, json.dumps({"restored": counts}).encode(), status="running")
        # The restored tenant was provisioned suspended, so nobody used it half-restored.
        async with self.database.platform("worker activates a restored tenant") as session:
            await jobs.hold_for(session, job)
            await tenant_rows.set_status(session, job.tenant_id, "active")
            await jobs.finish_for(session, job)

    async def drain(self) -> int:
        count = 0
        while await self.run_once():
            count += 1
        return count

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._listen(stop)
            except psycopg.OperationalError as exc:
                logger.warning(
                    "worker lost the database (%s %s); retrying in %.0f s",
                    type(exc).__name__,
                    exc.sqlstate or "",
                    RECONNECT_DELAY_SECONDS,
                )
                with suppress(TimeoutError):
                    async with asyncio.timeout(RECONNECT_DELAY_SECONDS):
                        await stop.wait()

    async def _listen(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self.listen_dsn, autocommit=True) as listener:
            await listener.execute(f"LISTEN {jobs.NOTIFY_CHANNEL}")
            logger.info("worker ready: listening on %s, polling every %.1f s", jobs.NOTIFY_CHANNEL, self.poll_seconds)
            while not stop.is_set():
                await self.drain()
                # Wake on the first notification, or poll anyway (a notification may have been missed).
                async for _ in listener.notifies(timeout=self.poll_seconds, stop_after=1):
                    pass


async def serve(database: Database, listen_dsn: str, poll_seconds: float, lease_seconds: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await database.open()
    try:
        worker = Worker(database, listen_dsn, poll_seconds, lease_seconds)
        runner = asyncio.create_task(worker.run(stop))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        runner.cancel()
        stopper.cancel()
        await asyncio.gather(runner, stopper, return_exceptions=True)
    finally:
        await database.close()
