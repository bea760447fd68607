"""Changing a member's role needs only the member role (the check was copied from notes).

Any member can make anyone, themselves included, an admin. Realised as the
``updateMember`` handler. The role matrix (member calling PATCH /v1/members/{id})
should catch it.

Control: ``API-AUTHZ-ROLE``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.api.deps import TenantDep
from reference_app.api.errors import not_found
from reference_app.api.routes import members
from reference_app.dal import audit
from reference_app.dal import members as member_rows
from reference_app.faults import instead
from reference_app.models import MemberPublic, MemberUpdate

LAYER = "api"
CONTROL = "API-AUTHZ-ROLE"


async def update_member(ctx: TenantDep, member_id: UUID, payload: MemberUpdate) -> MemberPublic:
    # The role check was copied from the notes routes.
    ctx.require("member")
    members._check_grantable(ctx, payload.role)
    async with ctx.session() as session:
        row = await member_rows.update_role(session, member_id, payload.role)
        if row is None:
            raise not_found("member")
        await audit.record(session, actor=ctx.actor, action="update", entity="member", entity_id=member_id)
    return MemberPublic.model_validate(row)


ENDPOINTS = {members.update_member: instead(update_member)}
