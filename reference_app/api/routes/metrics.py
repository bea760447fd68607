"""``GET /metrics`` in the Prometheus text format, for platform administrators only.

Per-tenant series name tenants and their traffic, which no tenant may see of another, so the
scrape needs a platform-admin token (Prometheus sends it as ``authorization.credentials``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from reference_app.api.deps import PlatformDep
from reference_app.metrics import Metrics

router = APIRouter(tags=["platform"])


@router.get("/metrics", include_in_schema=False)
async def metrics(_: PlatformDep, request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
