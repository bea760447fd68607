"""Platform administration: the tenant lifecycle, restores, analytics. Platform-admin tokens only."""

from __future__ import annotations

import json
import logging
import time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from reference_app.api.deps import PlatformDep
from reference_app.api.errors import PROBLEM_RESPONSES, ProblemError, not_found
from reference_app.dal import analytics, bundle, jobs, tenants
from reference_app.dal.session import PlatformSession
from reference_app.limits import forget_bucket
from reference_app.models import (
    ImportAccepted,
    JobPublic,
    NotesPerPlanDay,
    NotesPerPlanReport,
    TenantCreate,
    TenantImport,
    TenantPublic,
)

router = APIRouter(prefix="/v1/admin", tags=["platform"], responses=PROBLEM_RESPONSES)
logger = logging.getLogger("reference_app")


@router.get("/tenants", operation_id="listTenants")
async def list_tenants(database: PlatformDep) -> list[TenantPublic]:
    async with database.platform("platform admin lists tenants") as session:
        rows = await tenants.list_all(session)
    return [TenantPublic.model_validate(row) for row in rows]


@router.post("/tenants", status_code=201, operation_id="provisionTenant")
async def provision_tenant(database: PlatformDep, payload: TenantCreate, response: Response) -> TenantPublic:
    """Idempotent on the slug: provisioning an existing tenant answers 200 with it."""
    started = time.perf_counter()
    async with database.platform("platform admin provisions a tenant") as session:
        row, created = await tenants.create(session, slug=payload.slug, name=payload.name, plan=payload.plan)
    if not created:
        response.status_code = 200
    response.headers["Server-Timing"] = f"provision;dur={(time.perf_counter() - started) * 1000:.1f}"
    return TenantPublic.model_validate(row)


@router.get("/tenants/{tenant_id}", operation_id="getTenant")
async def get_tenant(database: PlatformDep, tenant_id: UUID) -> TenantPublic:
    async with database.platform("platform admin reads a tenant") as session:
        row = await tenants.get(session, tenant_id)
    if row is None:
        raise not_found("tenant")
    return TenantPublic.model_validate(row)


async def _set_status(database: PlatformDep, request: Request, tenant_id: UUID, status: str) -> TenantPublic:
    async with database.platform(f"platform admin sets a tenant {status}") as session:
        row = await tenants.set_status(session, tenant_id, status)
        if row is None:
            raise not_found("tenant")
        await _audit(session, tenant_id, request, "suspend" if status == "suspended" else "activate")
    if status == "suspended":
        request.app.state.verifier.forget_tenant(tenant_id)
    return TenantPublic.model_validate(row)


async def _audit(session: PlatformSession, tenant_id: UUID, request: Request, action: str) -> None:
    """Platform actions on a tenant are written to that tenant's audit trail."""
    actor = f"platform:{request.state.platform_subject}"
    await session.execute(
        "insert into audit_log (tenant_id, actor, action, entity, entity_id) "
        "values (%(tenant_id)s, %(actor)s, %(action)s, 'tenant', %(tenant_id)s::text)",
        {"tenant_id": tenant_id, "actor": actor, "action": action},
    )


@router.post("/tenants/{tenant_id}/suspend", operation_id="suspendTenant")
async def suspend_tenant(database: PlatformDep, request: Request, tenant_id: UUID) -> TenantPublic:
    return await _set_status(database, request, tenant_id, "suspended")


@router.post("/tenants/{tenant_id}/activate", operation_id="activateTenant")
async def activate_tenant(database: PlatformDep, request: Request, tenant_id: UUID) -> TenantPublic:
    return await _set_status(database, request, tenant_id, "active")


async def tenant_tables(session: PlatformSession) -> list[str]:
    """Every table with a tenant column, read from the catalog: a new table is covered the day it exists."""
    rows = await session.fetch_all(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped "
        "where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1"
    )
    return [row["relname"] for row in rows]


async def remaining_rows(
    session: PlatformSession, tenant_id: UUID, tables: list[str] | tuple[str, ...]
) -> dict[str, int]:
    counts = {}
    for table in tables:
        row = await session.fetch_one(
            f"select count(*) as n from {table} where tenant_id = %(tenant_id)s", {"tenant_id": tenant_id}
        )
        counts[table] = int(row["n"]) if row else 0
    return {table: n for table, n in counts.items() if n}


async def purge_tenant(session: PlatformSession, tenant_id: UUID) -> dict[str, int]:
    """Delete the tenant row (its rows go with it, ON DELETE CASCADE); the rows left behind, by table."""
    if not await tenants.delete(session, tenant_id):
        raise not_found("tenant")
    return await remaining_rows(session, tenant_id, await tenant_tables(session))


@router.delete("/tenants/{tenant_id}", status_code=204, operation_id="deprovisionTenant")
async def deprovision_tenant(database: PlatformDep, request: Request, tenant_id: UUID) -> Response:
    """Delete the tenant and, through ON DELETE CASCADE, every row of it; then prove nothing is left.

    The post-check counts the tenant's rows in every table that has a tenant column (from the
    catalog) inside the same transaction; anything left rolls the whole deprovisioning back.
    """
    started = time.perf_counter()
    async with database.platform("platform admin deprovisions a tenant") as session:
        left = await purge_tenant(session, tenant_id)
        await forget_bucket(session, tenant_id)
        if left:
            logger.error("deprovisioning %s left rows behind: %s; rolled back", tenant_id, left)
            raise ProblemError(500, "Deprovisioning incomplete", "Rows of the tenant remained; nothing was removed.")
    await request.app.state.cache.clear_tenant(tenant_id)
    request.app.state.recent_notes.forget_tenant(tenant_id)
    request.app.state.verifier.forget_tenant(tenant_id)
    return Response(
        status_code=204, headers={"Server-Timing": f"deprovision;dur={(time.perf_counter() - started) * 1000:.1f}"}
    )


@router.post("/imports", status_code=202, operation_id="importTenant")
async def import_tenant(database: PlatformDep, request: Request, payload: TenantImport) -> ImportAccepted:
    """Restore an export bundle into a new tenant (ids remapped), through the worker.

    The tenant is provisioned suspended and activated by the worker once every row is in.
    """
    try:
        data = bundle.validate(payload.bundle)
    except bundle.BundleError as exc:
        raise ProblemError(422, "Invalid bundle", str(exc)) from None
    source_plan = (data.get("source") or {}).get("plan")
    plan = str(payload.plan or (source_plan if source_plan in request.app.state.settings.plans else "free"))
    limits = request.app.state.settings.plans[plan]
    notes_in_bundle = len(data["tables"].get("notes", []))
    if notes_in_bundle > limits.notes:
        raise ProblemError(
            409,
            "Quota exceeded",
            f"The bundle holds {notes_in_bundle} notes; the {plan} plan allows {limits.notes}.",
            quota="notes",
            limit=limits.notes,
            used=notes_in_bundle,
        )
    encoded = json.dumps(data, separators=(",", ":")).encode()
    async with database.platform("platform admin restores a bundle into a new tenant") as session:
        created_row, created = await tenants.create(session, slug=payload.slug, name=payload.name, plan=plan)
        if not created:
            raise ProblemError(409, "Conflict", "A tenant with this slug exists; a restore needs a new tenant.")
        row = await tenants.set_status(session, created_row["id"], "suspended")
        assert row is not None
        job = await jobs.enqueue_for(
            session, row["id"], "import", f"platform:{request.state.platform_subject}", encoded
        )
    return ImportAccepted(tenant=TenantPublic.model_validate(row), job=JobPublic.model_validate(job))


@router.get("/tenants/{tenant_id}/jobs/{job_id}", operation_id="getTenantJob")
async def get_tenant_job(database: PlatformDep, tenant_id: UUID, job_id: UUID) -> JobPublic:
    async with database.platform("platform admin follows a tenant's job") as session:
        row = await jobs.get_for(session, tenant_id, job_id)
    if row is None:
        raise not_found("job")
    return JobPublic.model_validate(row)


@router.get("/analytics/notes-per-plan", operation_id="notesPerPlan", response_model_exclude_none=True)
async def notes_per_plan(
    database: PlatformDep, request: Request, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> NotesPerPlanReport:
    """Notes created per plan per day, across tenants; groups of fewer than k tenants are suppressed."""
    k: int = request.app.state.settings.analytics_min_tenants
    async with database.platform("platform analytics: aggregates over every tenant") as session:
        rows, suppressed = await analytics.notes_per_plan_per_day(session, days=days, min_tenants=k)
    groups: list[Any] = [NotesPerPlanDay.model_validate(row) for row in rows]
    return NotesPerPlanReport(min_tenants=k, days=days, groups=groups, suppressed_groups=suppressed)
