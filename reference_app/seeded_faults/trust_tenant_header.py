"""The API prefers an ``X-Tenant-ID`` header over the token's tenant ("the gateway sets it").

Any valid user of any tenant reads and writes another tenant by sending its id in the
header; RLS cannot help, because the context it enforces is the header's. Realised as
``tenant_context`` of ``api/deps.py``. Header tampering with valid credentials should catch it.

Control: ``API-TENANT-CONTEXT-TAMPER``.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import Request

from reference_app.api import deps
from reference_app.api.errors import ProblemError

LAYER = "api"
CONTROL = "API-TENANT-CONTEXT-TAMPER"


async def tenant_context(request: Request, principal: deps.CurrentPrincipal) -> deps.TenantContext:
    """The header wins over the token: "the gateway sets X-Tenant-ID"."""
    header = request.headers.get(deps.TENANT_HEADER)
    if principal.tenant_id is None or not header:
        return await deps.tenant_context(request, principal)
    try:
        tenant_id = UUID(header.strip())
    except ValueError:
        raise ProblemError(400, "Bad request", "X-Tenant-ID is not a tenant id.") from None
    request.state.tenant_id = tenant_id
    return deps.TenantContext(principal, tenant_id, request.app.state.database, request)


OVERRIDES = {deps.tenant_context: tenant_context}
