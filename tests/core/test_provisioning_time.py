"""Provisioning time runs from the request until the tenant answers its first authenticated read.

The stub target, served over real HTTP, creates tenants at once but answers their reads 503
until ``USABLE_AFTER`` has passed, as a target that provisions asynchronously would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tenantprobe import controls
from tenantprobe.errors import ProvisioningError
from tenantprobe.profiles import parse_profile
from tenantprobe.target import Target

USABLE_AFTER = 0.8
TENANT_TOKEN = "tenant-token"
OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "slow provisioning stub", "version": "1"},
    "security": [{"bearer": []}],
    "paths": {
        "/admin/tenants": {"post": {"responses": {"201": {"description": "created"}}}},
        "/items": {"get": {"responses": {"200": {"description": "the tenant's items"}}}},
    },
}


@dataclass
class Stub:
    usable_after: float
    created_at: float | None = None
    reads: list[int] = field(default_factory=list)


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/openapi.json":
                self._answer(200, OPENAPI)
                return
            ready = stub.created_at is not None and time.monotonic() - stub.created_at >= stub.usable_after
            authorized = self.headers.get("Authorization") == f"Bearer {TENANT_TOKEN}"
            status = 200 if ready and authorized else 503
            stub.reads.append(status)
            self._answer(status, [])

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            stub.created_at = time.monotonic()
            self._answer(201, {"id": "t-1"})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def slow_target() -> Iterator[tuple[Target, Stub]]:
    stub = Stub(USABLE_AFTER)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    profile = parse_profile(
        {
            "name": "slow-stub",
            "base_url": f"http://127.0.0.1:{server.server_address[1]}",
            "auth": {"kind": "static", "tokens": {"tp-slow": {"owner": TENANT_TOKEN}}, "platform_token": "admin"},
            "provisioning": {"kind": "admin_endpoint", "path": "/admin/tenants"},
        }
    )
    target = Target(profile)
    yield target, stub
    target.close()
    server.shutdown()
    server.server_close()


def test_provisioning_time_includes_waiting_until_the_tenant_is_usable(slow_target: tuple[Target, Stub]) -> None:
    target, stub = slow_target
    tenant = target.provision("tp-slow")
    assert tenant.id == "t-1"
    assert 503 in stub.reads, "polled while the tenant was not yet usable"
    assert stub.reads[-1] == 200
    assert target.provisioning_seconds[0] >= USABLE_AFTER, "the POST alone answered at once"


def test_tenant_never_usable_leaves_a_sample_over_the_threshold_and_an_error(
    slow_target: tuple[Target, Stub], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, stub = slow_target
    stub.usable_after = 3600
    real = controls.load_catalogue().get("OPS-PROVISIONING-TIME")
    short = replace(real, measure=replace(real.measure, threshold=0.5))

    class Catalogue:
        def get(self, control_id: str) -> controls.Control:
            return short

    monkeypatch.setattr(controls, "load_catalogue", Catalogue)
    with pytest.raises(ProvisioningError, match=r"not usable 0\.5 s after provisioning: GET /items answered 503"):
        target.provision("tp-slow")
    assert target.provisioning_seconds[0] >= 0.5
    assert not short.measure.satisfied_by(target.provisioning_seconds[0]), "the sample fails the control"
