"""``GET /v1/me`` hands the SPA the API's service-to-service token for search ("the browser calls
search directly").

Any tenant user holds a credential the internal service trusts as the API itself. Realised behind the
``getMe`` handler. Responses scanned for secret-named fields and secret-shaped values
(tokens, keys, password hashes) that the caller did not send should catch it.

Control: ``API-SECRET-EXPOSURE``.
"""

from __future__ import annotations

from reference_app.api.deps import TenantDep
from reference_app.api.routes import me as me_routes
from reference_app.faults import Endpoint
from reference_app.internal.client import SearchClient
from reference_app.models import Me

LAYER = "api"
CONTROL = "API-SECRET-EXPOSURE"


class MeWithSearch(Me):
    search_token: str | None = None


def _with_search_token(get_me: Endpoint) -> Endpoint:
    async def get_me_for_the_spa(ctx: TenantDep) -> MeWithSearch:
        # "The SPA calls search directly", so it gets the API's own service-to-service credential,
        # which the internal service trusts as the API itself.
        me = MeWithSearch.model_validate((await get_me(ctx)).model_dump())
        search_client: SearchClient | None = ctx.state.search_client
        if search_client is not None:
            me.search_token = search_client.token(ctx.tenant_id)
        return me

    return get_me_for_the_spa


ENDPOINTS = {me_routes.get_me: _with_search_token}
