"""The control catalogue: complete, consistent, and strict about ids."""

from __future__ import annotations

import pytest

from tenantprobe.controls import SEVERITY_WEIGHT, load_catalogue
from tenantprobe.errors import ProfileError

PHASE_METRICS = {
    "tenant_isolation_score",
    "security_audit_score",
    "vulnerability_count",
    "compliance_isolation",
    "response_time",
    "throughput",
    "resource_utilization",
    "scalability",
    "provisioning_time",
    "maintenance_window",
    "monitoring_coverage",
    "documentation_coverage",
}


def test_every_phase_success_metric_has_a_control() -> None:
    catalogue = load_catalogue()
    assert set(catalogue.phase_metrics) == PHASE_METRICS
    assert {control.phase_metric for control in catalogue} == PHASE_METRICS


def test_controls_are_well_formed() -> None:
    for control in load_catalogue():
        assert control.id.split("-")[0] in {"DATA", "API", "AUTH", "APP", "OPS", "PERF", "INFRA", "NET"}, control.id
        assert control.severity in SEVERITY_WEIGHT
        assert control.weight > 0
        assert all([control.what, control.why, control.how, control.remediation]), control.id
        if control.measure.kind == "metric":
            assert control.measure.name
            assert control.measure.comparator in ("<", "<=", ">", ">=")
            assert control.measure.threshold is not None


def test_unknown_id_suggests_the_closest() -> None:
    with pytest.raises(ProfileError, match="Did you mean 'API-CROSS-TENANT-READ'"):
        load_catalogue().get("API-CROSS-TENANT-REED")


@pytest.mark.parametrize(("value", "expected"), [(99.0, True), (100.0, False)])
def test_metric_threshold(value: float, expected: bool) -> None:
    assert load_catalogue().get("PERF-AVG-RESPONSE").measure.satisfied_by(value) is expected
