"""The Kubernetes suites pass on the secure tenant template and fail, naming the control, on each mistake.

The proof that no check is one that cannot fail: ``pytest suites/quota`` and ``pytest
suites/rbac`` are run as a user runs them (a subprocess, records read back) against templates
with one realistic mistake each (``tests/k8s/variants.py``). The secure run gives no cluster,
so the suites start their own local control plane, as they do for a user (or use
``KUBECONFIG`` when it is set); the variants share the session's cluster. All runs start
together (each has its own tenants), so the module costs about one run's time.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tenantprobe.kube.client.cluster import Cluster
from tests.detection.conftest import SuiteRun, run_suite
from tests.k8s.variants import EXPECTED, make_variant

INFRA = {
    "INFRA-NAMESPACE-PSA",
    "INFRA-POD-SECURITY",
    "INFRA-RESOURCE-QUOTA",
    "INFRA-LIMIT-RANGE",
    "INFRA-QUOTA-IMMUTABLE",
    "INFRA-RBAC-TENANT-SCOPE",
}


@pytest.fixture(scope="module")
def runs(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    """Every suite run of this module, started together: they share nothing but the apiserver."""
    jobs: dict[str, tuple[str, Path, tuple[str, ...]]] = {
        "secure": ("suites/quota", tmp_path_factory.mktemp("secure"), ("suites/rbac",))
    }
    for variant, (_, suite, _) in EXPECTED.items():
        directory = tmp_path_factory.mktemp(variant)
        prefix = f"v{uuid.uuid4().hex[:6]}"
        template = make_variant(variant, directory, prefix)
        options = ("--kubeconfig", str(kube_cluster.kubeconfig), "--tenant-template", str(template))
        jobs[variant] = (suite, directory / "results", (*options, "--k8s-tenant-prefix", prefix))
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {
            name: pool.submit(run_suite, suite, results, *options) for name, (suite, results, options) in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


def test_secure_template_passes_the_quota_and_rbac_suites(runs: dict[str, SuiteRun]) -> None:
    run = runs["secure"]
    assert run.exit_code == 0, run.output
    assert run.controls_with("fail") == set(), run.output
    assert run.controls_with("error") == set(), run.output
    assert run.controls_with("not_assessed") == set(), run.output
    assert run.controls_with("pass") == INFRA
    pairs = {(r["pair"]["attacker"], r["pair"]["victim"]) for r in run.records if r["pair"]}
    assert len(pairs) == 6, "every ordered pair of the 3 tenants, both directions"
    assert "eyJ" not in str(run.records), "no token may reach the result records"


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_template_mistake_fails_the_suite_naming_the_control(variant: str, runs: dict[str, SuiteRun]) -> None:
    run = runs[variant]
    controls = EXPECTED[variant][2]
    assert run.exit_code == 1, run.output
    assert run.controls_with("fail") == controls, run.output
    assert run.controls_with("error") == set(), run.output
    for control in controls:
        assert f"[{control}]" in run.output
        failed = [r for r in run.records if r["control_id"] == control and r["status"] == "fail"]
        assert all(r["evidence"] for r in failed), "a failure carries the apiserver's answers"
