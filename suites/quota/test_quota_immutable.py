"""A tenant cannot loosen its own quota or limit range.

Access reviews cover every write verb; real attempts (server dry runs, so a wrongly permitted
one changes nothing) show the apiserver refusing them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenantprobe.kube.client.api import Access

CONTROL = "INFRA-QUOTA-IMMUTABLE"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
LOOSER = {
    "resourcequotas": {"spec": {"hard": {"pods": "100000", "requests.cpu": "1000"}}},
    "limitranges": {"spec": {"limits": []}},
}


@pytest.mark.controls(CONTROL)
def test_tenant_may_not_write_quotas_or_limit_ranges(kube_probe: Any, kube_tenants: list[Any]) -> None:
    for tenant in kube_tenants:
        for resource in LOOSER:
            for verb in WRITE_VERBS:
                access = Access(verb, resource, namespace=tenant.namespace)
                kube_probe.expect_denied(CONTROL, tenant.admin, access, attacker=tenant.name)
        status = Access("update", "resourcequotas", namespace=tenant.namespace, subresource="status")
        kube_probe.expect_denied(CONTROL, tenant.admin, status, attacker=tenant.name)


@pytest.mark.controls(CONTROL)
def test_tenant_loosening_or_deleting_its_quota_and_limit_range_is_refused(
    kube_probe: Any, kube_cluster: Any, kube_tenants: list[Any]
) -> None:
    for tenant in kube_tenants:
        for resource, patch in LOOSER.items():
            collection = f"/api/v1/namespaces/{tenant.namespace}/{resource}"
            for item in kube_cluster.admin.items(collection):
                path = f"{collection}/{item['metadata']['name']}"
                response = tenant.admin.request(
                    "PATCH", path, query={"dryRun": "All"}, body=patch, content_type="application/merge-patch+json"
                )
                kube_probe.expect_refused(CONTROL, response, f"tenant patches {path}", status=403, attacker=tenant.name)
                response = tenant.admin.delete(path, dry_run=True)
                kube_probe.expect_refused(CONTROL, response, f"tenant deletes {path}", status=403, attacker=tenant.name)
