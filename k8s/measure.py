"""Measure the Kubernetes layer: control plane build check, start and stop, and tenant provisioning.

Provisioning is timed for one tenant across all layers, as ``tenantprobe provision --with-app-url``
does it: the namespace objects by server-side apply, the wait until the namespace is usable, and
the tenant in the reference app's database through its admin API. The figures go to k8s/README.md.

    .venv/bin/python k8s/measure.py                      # local control plane, 50 tenants, 3 starts
    .venv/bin/python k8s/measure.py --kubeconfig FILE    # your cluster (start times are skipped)
    .venv/bin/python k8s/measure.py --no-app --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from tenantprobe.kube.client.api import KubeClient
from tenantprobe.kube.client.app import AppTenants
from tenantprobe.kube.client.provision import deprovision, provision
from tenantprobe.kube.client.template import TenantTemplate
from tenantprobe.kube.local.controlplane import LocalControlPlane, ensure_binaries
from tenantprobe.load.stats import percentile
from tenantprobe.profiles import load_profile
from tenantprobe.stack import ReferenceStack

ROOT = Path(__file__).resolve().parents[1]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(samples), 4),
        "p95": round(percentile(samples, 95), 4),
        "max": round(max(samples), 4),
        "mean": round(statistics.fmean(samples), 4),
    }


def measure_starts(count: int) -> dict[str, Any]:
    started = time.perf_counter()
    ensure_binaries()
    check = time.perf_counter() - started
    ready, everything, stops = [], [], []
    for _ in range(count):
        control_plane = LocalControlPlane().start()
        assert control_plane.apiserver_ready_seconds is not None
        assert control_plane.start_seconds is not None
        ready.append(control_plane.apiserver_ready_seconds)
        everything.append(control_plane.start_seconds)
        t0 = time.perf_counter()
        control_plane.stop()
        stops.append(time.perf_counter() - t0)
    return {
        "build_check_seconds": round(check, 4),
        "apiserver_ready_seconds": summary(ready),
        "all_ready_seconds": summary(everything),
        "stop_seconds": summary(stops),
        "starts": count,
    }


def measure_provisioning(client: KubeClient, tenants: int, with_app: bool) -> dict[str, Any]:
    template = TenantTemplate.load(ROOT / "k8s" / "tenant-template")
    stack = ReferenceStack().start() if with_app else None
    app = None
    if stack is not None:
        app = AppTenants.from_profile(
            stack.base_url, load_profile(ROOT / "targets" / "reference.yaml"), key_file=stack.key_file
        )
    names = [f"m{uuid.uuid4().hex[:8]}" for _ in range(tenants)]
    results = []
    try:
        for name in names:
            results.append(provision(client, template, name, app=app))
        t0 = time.perf_counter()
        for name in names:
            deprovision(client, template, name, app=app)
        deprovision_seconds = (time.perf_counter() - t0) / len(names)
    finally:
        if app is not None:
            app.close()
        if stack is not None:
            stack.stop()
    return {
        "tenants": tenants,
        "layers": ["kubernetes", "app"] if with_app else ["kubernetes"],
        "total_seconds": summary([r.seconds for r in results]),
        "apply_seconds": summary([r.kubernetes_seconds for r in results]),
        "until_usable_seconds": summary([r.ready_seconds for r in results]),
        "app_seconds": summary([r.app_seconds for r in results]) if with_app else None,
        "deprovision_seconds_mean": round(deprovision_seconds, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--starts", type=int, default=3, help="control plane starts to time")
    parser.add_argument("--kubeconfig", help="measure on this cluster instead of a local control plane")
    parser.add_argument("--no-app", action="store_true", help="Kubernetes layer only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    figures: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()}}
    if args.kubeconfig:
        client = KubeClient.from_kubeconfig(Path(args.kubeconfig))
        figures["provisioning"] = measure_provisioning(client, args.tenants, not args.no_app)
        client.close()
    else:
        figures["control_plane"] = measure_starts(args.starts)
        with LocalControlPlane() as control_plane:
            client = KubeClient.from_kubeconfig(control_plane.kubeconfig)
            figures["provisioning"] = measure_provisioning(client, args.tenants, not args.no_app)
            client.close()
    figures["machine"]["load_average_after"] = os.getloadavg()
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
