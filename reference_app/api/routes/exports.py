"""Tenant exports: a JSON bundle of every row of the caller's tenant, built by the worker.

Admins only (a bundle holds the member list and the audit trail). A job of another tenant
answers exactly like a job that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES, ProblemError, not_found
from reference_app.api.links import created
from reference_app.dal import TenantSession, audit, jobs
from reference_app.dal.session import Row
from reference_app.models import JobPublic

router = APIRouter(prefix="/v1/exports", tags=["exports"], responses=PROBLEM_RESPONSES)
KIND = "export"


@router.post(
    "",
    status_code=202,
    operation_id="createExport",
    openapi_extra=created("export_id", "getExport", "downloadExport", status=202),
)
async def create_export(ctx: TenantDep) -> JobPublic:
    ctx.require("admin")
    async with ctx.session() as session:
        row = await jobs.enqueue(session, KIND, ctx.actor)
        await audit.record(session, actor=ctx.actor, action="create", entity="export", entity_id=row["id"])
    return JobPublic.model_validate(row)


@router.get("", operation_id="listExports")
async def list_exports(ctx: TenantDep, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[JobPublic]:
    ctx.require("admin")
    async with ctx.session(single=True) as session:
        rows = await jobs.list_recent(session, KIND, limit)
    return [JobPublic.model_validate(row) for row in rows]


async def _read_export(ctx: TenantDep, read: Callable[[TenantSession], Awaitable[Row | None]]) -> Row:
    """One export job of the caller's tenant, read in one round trip; a missing or foreign one answers 404."""
    ctx.require("admin")
    async with ctx.session(single=True) as session:
        row = await read(session)
    if row is None:
        raise not_found("export")
    return row


@router.get("/{export_id}", operation_id="getExport")
async def get_export(ctx: TenantDep, export_id: UUID) -> JobPublic:
    return JobPublic.model_validate(await _read_export(ctx, lambda session: jobs.get(session, export_id, KIND)))


@router.get(
    "/{export_id}/download",
    operation_id="downloadExport",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "The tenant bundle"}},
)
async def download_export(ctx: TenantDep, export_id: UUID) -> Response:
    row = await _read_export(ctx, lambda session: jobs.result(session, export_id, KIND))
    if row["status"] != "succeeded" or row["result"] is None:
        raise ProblemError(409, "Not ready", f"The export is {row['status']}; download it once it has succeeded.")
    return Response(
        bytes(row["result"]),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="export-{export_id}.json"'},
    )
