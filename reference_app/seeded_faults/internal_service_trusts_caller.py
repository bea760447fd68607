"""The internal service trusts its network position: it takes the tenant from the path and
ignores the missing or invalid internal token.

Anything that can reach it reads any tenant. Realised as the
internal service's caller dependency (``internal/service.py``). Direct
calls without, or with bad, tenant context should catch it.

Control: ``APP-SERVICE-PROPAGATION``.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import Request

from reference_app.auth.internal import InternalPrincipal
from reference_app.internal import service

LAYER = "application"
CONTROL = "APP-SERVICE-PROPAGATION"


def _principal(request: Request, tenant_id: UUID) -> InternalPrincipal:
    """The path decides and the token goes unread: "only the API can reach us"."""
    return InternalPrincipal(service="unverified", tenant_id=tenant_id)


OVERRIDES = {service._principal: _principal}
