"""Tenant lifecycle timings of the reference app: provisioning, export and restore.

    .venv/bin/python benchmarks/provisioning.py [--tenants 100] [--notes 10000] [--rounds 3]

Starts the reference app (embedded PostgreSQL, API, worker, internal service) and measures,
over real HTTP:

- provisioning: ``POST /v1/admin/tenants`` for ``--tenants`` new tenants, one after another;
  p50/p95 of the client-side wall time and of the server's own ``Server-Timing``;
- export: a tenant holding ``--notes`` notes (seeded in bulk with SQL, with tags and a
  comment on every tenth note) asks for an export; wall time from the request until the
  bundle is downloaded, as the tenant sees it (queue pickup by the worker included);
- import: the bundle restored into a new tenant through ``POST /v1/admin/imports``; wall
  time until the job has succeeded and the tenant is active.

Medians over ``--rounds`` rounds are printed, with the import/export ratio. No assertions:
figures for the record (see benchmarks/README.md, if present).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from typing import Any

import httpx
from _seed import seed

from reference_app.auth import SigningKey, TokenSettings, mint_token
from tenantprobe.load.stats import percentile
from tenantprobe.stack import ReferenceStack

SETTINGS = TokenSettings(issuer="pake-dev", audience="pake-api")


def bearer(key: SigningKey, tenant_id: str | None, role: str) -> dict[str, str]:
    token = mint_token(key, SETTINGS, subject=f"bench-{role}", tenant_id=tenant_id, roles=[role])
    return {"Authorization": f"Bearer {token}"}


def wait_job(http: httpx.Client, url: str, headers: dict[str, str], timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = http.get(url, headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            if job["status"] == "failed":
                raise SystemExit(f"job failed: {job}")
            return job
        time.sleep(0.01)
    raise SystemExit(f"job at {url} did not finish in {timeout} s")


def provision(http: httpx.Client, platform: dict[str, str], plan: str = "enterprise") -> tuple[str, float, float]:
    slug = f"b-{uuid.uuid4().hex[:12]}"
    started = time.perf_counter()
    response = http.post("/v1/admin/tenants", json={"slug": slug, "name": slug, "plan": plan}, headers=platform)
    wall = time.perf_counter() - started
    response.raise_for_status()
    server = float(response.headers["Server-Timing"].split("dur=")[1]) / 1000
    return response.json()["id"], wall, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    env = {"REFERENCE_APP_MAX_IMPORT_BYTES": str(1024**3), "REFERENCE_APP_WORKER_POLL_SECONDS": "0.2"}
    with ReferenceStack(extra_env=env) as stack, httpx.Client(base_url=stack.base_url, timeout=300) as http:
        assert stack.dsns is not None
        key = SigningKey.from_pem(stack.key_file.read_bytes())
        platform = bearer(key, None, "platform_admin")
        provision(http, platform)  # warm-up: pools, first-request costs

        walls, servers = [], []
        for _ in range(args.tenants):
            _, wall, server = provision(http, platform)
            walls.append(wall)
            servers.append(server)
        print(f"provisioning, {args.tenants} tenants (ms):")
        print(
            f"  wall    p50 {percentile(walls, 50) * 1000:7.1f}  p95 {percentile(walls, 95) * 1000:7.1f}"
            f"  max {max(walls) * 1000:7.1f}"
        )
        print(
            f"  server  p50 {percentile(servers, 50) * 1000:7.1f}  p95 {percentile(servers, 95) * 1000:7.1f}"
            f"  max {max(servers) * 1000:7.1f}"
        )

        source, _, _ = provision(http, platform)
        seed(stack.dsns.platform, source, args.notes)
        admin = bearer(key, source, "admin")
        exports, imports, sizes = [], [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            job = http.post("/v1/exports", headers=admin).json()
            wait_job(http, f"/v1/exports/{job['id']}", admin)
            download = http.get(f"/v1/exports/{job['id']}/download", headers=admin)
            download.raise_for_status()
            exports.append(time.perf_counter() - started)
            sizes.append(len(download.content))

            started = time.perf_counter()
            body = (
                b'{"slug":"r-'
                + uuid.uuid4().hex[:12].encode()
                + b'","name":"restored","bundle":'
                + download.content
                + b"}"
            )
            accepted = http.post(
                "/v1/admin/imports", content=body, headers={**platform, "content-type": "application/json"}
            )
            accepted.raise_for_status()
            restored = accepted.json()
            wait_job(http, f"/v1/admin/tenants/{restored['tenant']['id']}/jobs/{restored['job']['id']}", platform)
            imports.append(time.perf_counter() - started)
            count = http.get("/v1/notes/count", headers=bearer(key, restored["tenant"]["id"], "viewer")).json()["count"]
            if count != args.notes:
                raise SystemExit(f"restore holds {count} notes, expected {args.notes}")
        export_s, import_s = statistics.median(exports), statistics.median(imports)
        print(f"tenant with {args.notes} notes, bundle {statistics.median(sizes) / 1e6:.1f} MB, {args.rounds} rounds:")
        print(f"  export (request -> downloaded)   median {export_s:6.2f} s  all {[round(x, 2) for x in exports]}")
        print(f"  import (upload -> tenant active) median {import_s:6.2f} s  all {[round(x, 2) for x in imports]}")
        print(f"  import / export ratio {import_s / export_s:.2f}")


if __name__ == "__main__":
    main()
