"""Network probing: full-matrix time and probes per second at 10 and 30 tenants.

    .venv/bin/python benchmarks/network_matrix.py [--tenants 10 30] [--rounds 3]

Needs root (network namespaces, iptables). Starts a local control plane and a probe node (node
agent + kube-router, firewall only), provisions each size's tenants from the secure tenant
template (k8s/tenant-template), deploys 2 probe pods per tenant (8080/TCP, 8081/UDP) plus one
outside pod, and measures:

- setup: from creating the probe pods until every pod is Running and kube-router's rules name
  every pod and stopped changing (once per size);
- matrix: the whole probing run the suite does (server pre-checks, every ordered pair of pods on
  both ports, one re-probe of any mismatch), repeated ``--rounds`` times; median printed;
- probes/s of the matrix run, and whether observed equalled expected.

Figures only, no assertions (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from tenantprobe.kube.client.cluster import Cluster
from tenantprobe.kube.client.provision import provision
from tenantprobe.kube.client.template import TenantTemplate
from tenantprobe.kube.network.probenode import LocalProbeNode
from tenantprobe.kube.network.prober import KubeExec, Prober
from tenantprobe.kube.network.run import PORTS, outside_namespace, probe_tenants

TEMPLATE = Path(__file__).parents[1] / "k8s" / "tenant-template"


def measure(cluster: Cluster, node: LocalProbeNode, template: TenantTemplate, tenants: int, rounds: int) -> None:
    assert node.node is not None
    prefix = f"b{uuid.uuid4().hex[:5]}"
    started = time.monotonic()
    tenant_of = {}
    for index in range(1, tenants + 1):
        name = f"{prefix}-{index}"
        provision(cluster.admin, template, name)
        tenant_of[template.render_tenant(name).namespace] = name
    provisioned = time.monotonic() - started
    variables = template.render_tenant(f"{prefix}-1").variables
    run = probe_tenants(cluster.admin, node.node, tenant_of, outside_namespace(f"{prefix}-outside", variables))
    if run.result is None or run.engine is None:
        print(f"{tenants} tenants: not measured: {run.unavailable}")
        return
    seconds, rates = [run.result.seconds], [run.result.probes_per_second]
    prober = Prober(KubeExec(cluster.admin))
    matrix = run.engine.matrix(PORTS)
    for _ in range(rounds - 1):
        again = prober.run(matrix, run.engine.pods)
        seconds.append(again.seconds)
        rates.append(again.probes_per_second)
    odd = [c for o in ("allowed", "blocked", "not_assessed") for c in run.result.mismatches(o)]
    mismatches = len(odd)
    print(
        f"{tenants} tenants, {len(run.engine.pods)} pods, {len(run.result.cells)} cells ({len(PORTS)} ports): "
        f"provision {provisioned:.1f} s, setup {run.facts['setup_seconds']:.1f} s, "
        f"matrix median {statistics.median(seconds):.2f} s (runs: {', '.join(f'{s:.2f}' for s in seconds)}), "
        f"{statistics.median(rates):.0f} probes/s, mismatches {mismatches}",
        flush=True,
    )
    for cell in odd[:10]:
        print(f"  {cell.outcome}: {cell.verdict.explain()}; observed {cell.observed}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    template = TenantTemplate.load(TEMPLATE)
    with Cluster.local() as cluster, tempfile.TemporaryDirectory() as workdir:
        assert cluster.control_plane is not None
        kubelet_ca = cluster.control_plane.kubelet_client_ca
        local = LocalProbeNode(cluster.admin, cluster.kubeconfig, Path(workdir), kubelet_ca)
        local.start()
        try:
            print(f"kubernetes {cluster.version}, enforcer {local.node.enforcer if local.node else '?'}", flush=True)
            for tenants in args.tenants:
                measure(cluster, local, template, tenants, args.rounds)
        finally:
            local.stop()


if __name__ == "__main__":
    main()
