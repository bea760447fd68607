"""Changing a member's role needs only the member role (the check was copied from notes).

Any member can make anyone, themselves included, an admin. Realised as the
``updateMember`` handler. The role matrix (member calling PATCH /v1/members/{id})
should catch it.

Control: ``API-AUTHZ-ROLE``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.api.deps import TenantDep
from reference_app.api.routes import members
from reference_app.faults import instead
from reference_app.models import MemberPublic, MemberUpdate

LAYER = "api"
CONTROL = "API-AUTHZ-ROLE"


async def update_member(ctx: TenantDep, member_id: UUID, payload: MemberUpdate) -> MemberPublic:
    # The role check was copied from the notes routes.
    ctx.require("member")
    return await members._change_role(ctx, member_id, payload.role)


ENDPOINTS = {members.update_member: instead(update_member)}
