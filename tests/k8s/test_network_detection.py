"""The network suite passes on the secure tenant template and fails, naming the controls, on each network mistake.

``pytest suites/network`` runs as a user runs it (a subprocess, records read back) against the
session's local control plane. This module starts one probe node (node agent + kube-router: one
enforcer per machine) and every run shares it, all at once, each with its own tenants: the secure
template, the variants of ``tests/k8s/variants.py``, the same secure template through the path of
a cluster tenantprobe did not set up (``--probe-node``), and probe pods bound to a node that does
not exist, which must leave every probing control *not assessed* (never a pass).
"""

from __future__ import annotations

import fcntl
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tenantprobe.kube.client.cluster import Cluster
from tenantprobe.kube.local.enforcer import LOCK_FILE
from tenantprobe.kube.local.podnet import PodNetwork, ip
from tenantprobe.kube.network.probenode import LocalProbeNode
from tests.detection.conftest import SuiteRun, run_suite
from tests.k8s.variants import NETWORK_EXPECTED, make_variant

NETWORK = {
    "NET-DEFAULT-DENY",
    "NET-CROSS-TENANT-BLOCKED",
    "NET-EGRESS-RESTRICTED",
    "NET-POLICY-ENFORCED",
    "NET-ALLOWED-REACHABLE",
}
PROBED = NETWORK - {"NET-DEFAULT-DENY"}  # the policy audit needs no probe node


@pytest.fixture(scope="module")
def local_cluster(kube_cluster: Cluster) -> Iterator[Cluster]:
    """The session's cluster when it is the local control plane; a local one of this module's otherwise
    (a probe node must not be registered on a cluster the user named)."""
    if kube_cluster.control_plane is not None:
        yield kube_cluster
        return
    with Cluster.local() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def runs(
    local_cluster: Cluster, kube_router_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, SuiteRun]:
    kubeconfig = ("--kubeconfig", str(local_cluster.kubeconfig))
    jobs: dict[str, tuple[Path, tuple[str, ...]]] = {
        "secure": (tmp_path_factory.mktemp("secure") / "results", kubeconfig),
        "pods-never-ready": (
            tmp_path_factory.mktemp("never-ready") / "results",
            (*kubeconfig, "--probe-node", "tenantprobe-absent", "--probe-ready-timeout", "3"),
        ),
    }
    for variant in NETWORK_EXPECTED:
        directory = tmp_path_factory.mktemp(variant)
        prefix = f"n{uuid.uuid4().hex[:6]}"
        template = make_variant(variant, directory, prefix)
        options = (*kubeconfig, "--tenant-template", str(template), "--k8s-tenant-prefix", prefix, "--tenants", "2")
        jobs[variant] = (directory / "results", options)
    workdir = tmp_path_factory.mktemp("probe-node")
    assert local_cluster.control_plane is not None
    kubelet_ca = local_cluster.control_plane.kubelet_client_ca
    with LocalProbeNode(local_cluster.admin, local_cluster.kubeconfig, workdir, kubelet_ca) as node:
        # The path of a cluster tenantprobe did not set up: pods bound to a named node, whose enforcer
        # the suite does not watch (a settle wait instead), entered with pods/exec like every other.
        jobs["named-node"] = (tmp_path_factory.mktemp("named") / "results", (*kubeconfig, "--probe-node", node.name))
        with ThreadPoolExecutor(len(jobs)) as pool:
            futures = {
                name: pool.submit(run_suite, "suites/network", results, *options)
                for name, (results, options) in jobs.items()
            }
            return {name: future.result() for name, future in futures.items()}


def test_probe_pods_that_never_become_ready_leave_the_probing_controls_not_assessed(
    runs: dict[str, SuiteRun],
) -> None:
    run = runs["pods-never-ready"]
    assert run.exit_code == 0, run.output
    assert run.controls_with("not_assessed") == PROBED, run.output
    assert run.controls_with("pass") == {"NET-DEFAULT-DENY"}, run.output
    reasons = {r["reason"] for r in run.records if r["status"] == "not_assessed"}
    assert all("not Running and Ready after 3 s" in reason for reason in reasons), reasons


@pytest.mark.parametrize(("run_name", "enforcer"), [("secure", "kube-router v2."), ("named-node", "the cluster's")])
def test_secure_template_observed_equals_expected_and_no_tenant_reaches_another(
    run_name: str, enforcer: str, runs: dict[str, SuiteRun]
) -> None:
    run = runs[run_name]
    assert run.exit_code == 0, run.output
    assert run.controls_with("pass") == NETWORK, run.output
    assert run.controls_with("fail") | run.controls_with("error") | run.controls_with("not_assessed") == set()
    enforced = next(r for r in run.records if r["control_id"] == "NET-POLICY-ENFORCED")
    assert enforced["measured"]["cells"] == 7 * 6 * 2, "3 tenants x 2 pods + 1 outside pod, 2 ports, no self cells"
    assert enforced["measured"]["enforcer"].startswith(enforcer)
    tables = [e["truth_table"] for e in enforced["evidence"] if "truth_table" in e]
    assert [t.split(":")[0] for t in tables] == ["8080/TCP", "8081/UDP"]
    pairs = {
        (r["pair"]["attacker"], r["pair"]["victim"])
        for r in run.records
        if r["control_id"] == "NET-CROSS-TENANT-BLOCKED"
    }
    assert len(pairs) == 6, "every ordered pair of the 3 tenants"


@pytest.mark.parametrize("variant", list(NETWORK_EXPECTED))
def test_network_mistake_fails_the_suite_naming_the_controls(variant: str, runs: dict[str, SuiteRun]) -> None:
    run = runs[variant]
    controls = NETWORK_EXPECTED[variant][2]
    assert run.exit_code == 1, run.output
    assert run.controls_with("fail") == controls, run.output
    assert run.controls_with("error") | run.controls_with("not_assessed") == set(), run.output
    # The enforcer did its job: what flowed is what the broken policies allow.
    assert "NET-POLICY-ENFORCED" in run.controls_with("pass")
    for control in controls:  # each finding says which traffic, and why the policies allow it
        failed = [r for r in run.records if r["control_id"] == control and r["status"] == "fail"]
        assert all(r["summary"] and r["evidence"] for r in failed), failed


def test_a_stopped_probe_node_leaves_no_namespaces_links_or_rules(runs: dict[str, SuiteRun]) -> None:
    prefix = PodNetwork().prefix  # this process's agent named everything with it
    assert prefix not in ip("netns", "list")
    assert prefix not in ip("-o", "link", "show")
    with open(LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another run's kube-router is up on this machine: its rules are its own
        try:
            rules = subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True, check=True).stdout
            assert "KUBE-ROUTER" not in rules
            assert "KUBE-POD-FW" not in rules
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
