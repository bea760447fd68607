"""Adding a member checks that the email is not registered yet, against every tenant's users
("one login per email"), on the platform connection.

A tenant that adds a member with an email another tenant already uses gets 409 "already
registered": it learns who works where, and can squat addresses. Realised in front of the
``createMember`` handler. Creating in one tenant a value another tenant already uses, in a
field that looks unique, should catch it.

Control: ``API-UNIQUENESS-SCOPE``.
"""

from __future__ import annotations

from reference_app.api.deps import TenantDep
from reference_app.api.errors import ProblemError
from reference_app.api.routes import members
from reference_app.faults import Endpoint
from reference_app.models import MemberCreate, MemberPublic

LAYER = "api"
CONTROL = "API-UNIQUENESS-SCOPE"


async def _email_registered_anywhere(ctx: TenantDep, email: str) -> None:
    # "One login per email", checked against every tenant's users.
    async with ctx.database.platform("email must not be registered yet") as lookup:
        taken = await lookup.fetch_one("select 1 as taken from users where lower(email) = lower(%(e)s)", {"e": email})
    if taken is not None:
        raise ProblemError(409, "Conflict", "A user with this email is already registered.")


def _email_checked_first(create_member: Endpoint) -> Endpoint:
    async def create_member_once_per_email(ctx: TenantDep, payload: MemberCreate) -> MemberPublic:
        ctx.require("admin")
        members._check_grantable(ctx, payload.role)
        if payload.email:
            await _email_registered_anywhere(ctx, payload.email)
        member: MemberPublic = await create_member(ctx, payload)
        return member

    return create_member_once_per_email


ENDPOINTS = {members.create_member: _email_checked_first}
