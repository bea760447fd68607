"""Memberships of the caller's tenant: readable by its members, managed by its admins."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from reference_app.api.audited import delete_audited
from reference_app.api.deps import TenantDep
from reference_app.api.errors import PROBLEM_RESPONSES, ProblemError, not_found
from reference_app.api.links import created
from reference_app.dal import audit, members
from reference_app.models import MemberCreate, MemberPublic, MemberUpdate

router = APIRouter(prefix="/v1/members", tags=["members"], responses=PROBLEM_RESPONSES)


def _check_grantable(ctx: TenantDep, role: str) -> None:
    """Only an owner can make owners: an admin cannot grant more than it has."""
    if role == "owner":
        ctx.require("owner")


@router.get("", operation_id="listMembers")
async def list_members(ctx: TenantDep) -> list[MemberPublic]:
    ctx.require("admin")
    async with ctx.session(single=True) as session:
        rows = await members.list_all(session)
    return [MemberPublic.model_validate(row) for row in rows]


@router.post(
    "",
    status_code=201,
    operation_id="createMember",
    openapi_extra=created("member_id", "getMember", "updateMember", "deleteMember"),
)
async def create_member(ctx: TenantDep, payload: MemberCreate) -> MemberPublic:
    ctx.require("admin")
    _check_grantable(ctx, payload.role)
    async with ctx.session() as session:
        row = await members.create(session, subject=payload.subject, email=payload.email, role=payload.role)
        if row is None:
            raise ProblemError(409, "Conflict", "This subject is already a member.")
        await audit.record(session, actor=ctx.actor, action="create", entity="member", entity_id=row["id"])
    return MemberPublic.model_validate(row)


@router.get("/{member_id}", operation_id="getMember")
async def get_member(ctx: TenantDep, member_id: UUID) -> MemberPublic:
    ctx.require("admin")
    async with ctx.session(single=True) as session:
        row = await members.get(session, member_id)
    if row is None:
        raise not_found("member")
    return MemberPublic.model_validate(row)


@router.patch("/{member_id}", operation_id="updateMember")
async def update_member(ctx: TenantDep, member_id: UUID, payload: MemberUpdate) -> MemberPublic:
    ctx.require("admin")
    return await _change_role(ctx, member_id, payload.role)


async def _change_role(ctx: TenantDep, member_id: UUID, role: str) -> MemberPublic:
    """Give a member ``role`` (no higher than the caller may grant) and audit it; who may call it is the route's."""
    _check_grantable(ctx, role)
    async with ctx.session() as session:
        row = await members.update_role(session, member_id, role)
        if row is None:
            raise not_found("member")
        await audit.record(session, actor=ctx.actor, action="update", entity="member", entity_id=member_id)
    return MemberPublic.model_validate(row)


@router.delete("/{member_id}", status_code=204, operation_id="deleteMember")
async def delete_member(ctx: TenantDep, member_id: UUID) -> Response:
    ctx.require("admin")
    await delete_audited(ctx, "member", member_id, lambda session: members.delete(session, member_id))
    return Response(status_code=204)
