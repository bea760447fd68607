"""Per-tenant rate limits and storage quotas by plan, GET /v1/usage, and the per-tenant metrics.

The app here runs with tiny limits (set through the environment, as the load harness does):
the free plan allows bursts of 5 requests; the pro plan 3 notes and 100 attachment bytes;
a refusal is held 300 ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from reference_app.config import DEFAULT_PLANS, ConfigError, parse_plan
from reference_app.metrics import TenantLabels
from tests.reference_app.conftest import Tenant

LIMITS = {
    "REFERENCE_APP_PLAN_FREE": "rate=0.5,burst=5",
    "REFERENCE_APP_PLAN_PRO": "notes=3,attachment_bytes=100",
    "REFERENCE_APP_METRICS_MAX_TENANTS": "3",
    "REFERENCE_APP_THROTTLE_DELAY_MS": "300",
}


@pytest.fixture(scope="module")
def app_env() -> dict[str, str]:
    return LIMITS


def test_plan_settings_name_the_variable_and_the_key() -> None:
    with pytest.raises(ConfigError, match=r"REFERENCE_APP_PLAN_FREE: 'brust=3' .*Did you mean 'burst'\?"):
        parse_plan("REFERENCE_APP_PLAN_FREE", "brust=3", DEFAULT_PLANS["free"])
    with pytest.raises(ConfigError, match="rate=0 must be greater than 0"):
        parse_plan("REFERENCE_APP_PLAN_FREE", "rate=0", DEFAULT_PLANS["free"])


def test_tenant_exhausting_its_bucket_gets_429_and_others_are_not_throttled(
    client: httpx.Client, new_tenant: Callable[..., Tenant]
) -> None:
    noisy, quiet = new_tenant("free"), new_tenant("free")
    answers = [client.get("/v1/notes", headers=noisy.headers()) for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert [r.headers["RateLimit-Remaining"] for r in answers[:5]] == ["4", "3", "2", "1", "0"]
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Limit"] == "5"
    assert (refused.json()["status"], refused.json()["quota"]) == (429, "requests")
    assert refused.elapsed.total_seconds() >= 0.3, "held for the throttle delay, so retrying at once is slowed"
    assert all(client.get("/v1/notes", headers=quiet.headers()).status_code == 200 for _ in range(5))


def test_note_quota_refuses_the_write_past_the_plan_naming_the_quota(
    client: httpx.Client, new_tenant: Callable[..., Tenant]
) -> None:
    tenant = new_tenant("pro")
    h = tenant.headers()
    assert [client.post("/v1/notes", json={"title": f"n{i}"}, headers=h).status_code for i in range(3)] == [201] * 3
    refused = client.post("/v1/notes", json={"title": "one too many"}, headers=h)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert (problem["title"], problem["quota"], problem["limit"], problem["used"]) == ("Quota exceeded", "notes", 3, 3)
    assert client.get("/v1/notes/count", headers=h).json() == {"count": 3}


def test_attachment_bytes_quota_counts_the_sizes(client: httpx.Client, new_tenant: Callable[..., Tenant]) -> None:
    tenant = new_tenant("pro")
    h = tenant.headers()
    note = client.post("/v1/notes", json={"title": "files"}, headers=h).json()["id"]

    def attach(size: int) -> httpx.Response:
        body = {"filename": "f.bin", "content_type": "application/octet-stream", "size_bytes": size}
        return client.post(f"/v1/notes/{note}/attachments", json=body, headers=h)

    assert attach(60).status_code == 201
    refused = attach(41)
    assert (refused.status_code, refused.json()["quota"]) == (403, "attachment_bytes")
    assert attach(40).status_code == 201


def test_usage_reports_the_plan_and_what_the_tenant_uses(
    client: httpx.Client, new_tenant: Callable[..., Tenant]
) -> None:
    tenant = new_tenant("pro")
    client.post("/v1/notes", json={"title": "counted"}, headers=tenant.headers())
    usage = client.get("/v1/usage", headers=tenant.headers("viewer")).json()
    assert usage["plan"] == "pro"
    assert usage["notes"] == {"used": 1, "limit": 3}
    assert usage["attachment_bytes"] == {"used": 0, "limit": 100}
    assert usage["request_burst"] == DEFAULT_PLANS["pro"].burst


def test_tenant_labels_are_bounded() -> None:
    label = TenantLabels(max_tenants=2)
    assert [label(x) for x in ("a", "b", "c", "a", None)] == ["a", "b", "other", "a", "none"]


def metric_lines(client: httpx.Client, platform_headers: dict[str, str]) -> list[str]:
    response = client.get("/metrics", headers=platform_headers)
    assert response.status_code == 200
    return response.text.splitlines()


def test_metrics_are_per_tenant_by_route_template_with_bounded_tenants(
    client: httpx.Client, new_tenant: Callable[..., Tenant], platform_headers: dict[str, str]
) -> None:
    crowd = [new_tenant("pro") for _ in range(4)]
    for tenant in crowd:
        note = client.post("/v1/notes", json={"title": "m"}, headers=tenant.headers()).json()["id"]
        client.get(f"/v1/notes/{note}", headers=tenant.headers())
    time.sleep(0.05)
    lines = metric_lines(client, platform_headers)
    requests = [line for line in lines if line.startswith("pake_http_requests_total{")]
    assert any('route="/v1/notes/{note_id}"' in line for line in requests)
    assert not any(
        "/v1/notes/" in line and "{note_id}" not in line and "/search" not in line and "/count" not in line
        for line in requests
    ), "raw paths never become labels"
    tenants = {line.split('tenant="')[1].split('"')[0] for line in requests}
    assert len(tenants - {"none", "other"}) <= 3
    assert "other" in tenants
    assert any(line.startswith("pake_http_request_duration_seconds_bucket{") for line in lines)


def test_quota_rejections_and_errors_are_counted_per_tenant(
    client: httpx.Client, new_tenant: Callable[..., Tenant], platform_headers: dict[str, str]
) -> None:
    tenant = new_tenant("free")
    for _ in range(7):
        client.get("/v1/notes", headers=tenant.headers())
    lines = metric_lines(client, platform_headers)
    assert any(line.startswith("pake_quota_rejections_total{") and 'quota="requests"' in line for line in lines)
    assert any(line.startswith("pake_http_errors_total{") and 'class="4xx"' in line for line in lines)


def test_metrics_need_a_platform_token(client: httpx.Client, tenant_a: Tenant) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=tenant_a.headers("owner")).status_code == 403
