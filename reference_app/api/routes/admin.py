"""Platform administration: the tenant lifecycle. Platform-admin tokens only."""

from __future__ import annotations

import time
from uuid import UUID

from fastapi import APIRouter, Response

from reference_app.api.deps import PlatformDep
from reference_app.api.errors import PROBLEM_RESPONSES, not_found
from reference_app.dal import tenants
from reference_app.models import TenantCreate, TenantPublic

router = APIRouter(prefix="/v1/admin/tenants", tags=["platform"], responses=PROBLEM_RESPONSES)


@router.get("", operation_id="listTenants")
async def list_tenants(database: PlatformDep) -> list[TenantPublic]:
    async with database.platform("platform admin lists tenants") as session:
        rows = await tenants.list_all(session)
    return [TenantPublic.model_validate(row) for row in rows]


@router.post("", status_code=201, operation_id="provisionTenant")
async def provision_tenant(database: PlatformDep, payload: TenantCreate, response: Response) -> TenantPublic:
    """Idempotent on the slug: provisioning an existing tenant answers 200 with it."""
    started = time.perf_counter()
    async with database.platform("platform admin provisions a tenant") as session:
        row, created = await tenants.create(session, slug=payload.slug, name=payload.name, plan=payload.plan)
    if not created:
        response.status_code = 200
    response.headers["Server-Timing"] = f"provision;dur={(time.perf_counter() - started) * 1000:.1f}"
    return TenantPublic.model_validate(row)


@router.get("/{tenant_id}", operation_id="getTenant")
async def get_tenant(database: PlatformDep, tenant_id: UUID) -> TenantPublic:
    async with database.platform("platform admin reads a tenant") as session:
        row = await tenants.get(session, tenant_id)
    if row is None:
        raise not_found("tenant")
    return TenantPublic.model_validate(row)


async def _set_status(database: PlatformDep, tenant_id: UUID, status: str) -> TenantPublic:
    async with database.platform(f"platform admin sets a tenant {status}") as session:
        row = await tenants.set_status(session, tenant_id, status)
    if row is None:
        raise not_found("tenant")
    return TenantPublic.model_validate(row)


@router.post("/{tenant_id}/suspend", operation_id="suspendTenant")
async def suspend_tenant(database: PlatformDep, tenant_id: UUID) -> TenantPublic:
    return await _set_status(database, tenant_id, "suspended")


@router.post("/{tenant_id}/activate", operation_id="activateTenant")
async def activate_tenant(database: PlatformDep, tenant_id: UUID) -> TenantPublic:
    return await _set_status(database, tenant_id, "active")


@router.delete("/{tenant_id}", status_code=204, operation_id="deprovisionTenant")
async def deprovision_tenant(database: PlatformDep, tenant_id: UUID) -> Response:
    async with database.platform("platform admin deprovisions a tenant") as session:
        if not await tenants.delete(session, tenant_id):
            raise not_found("tenant")
    return Response(status_code=204)
