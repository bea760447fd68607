"""The reference app's manifests (k8s/app) are accepted by a real apiserver: server-side dry runs.

Nothing runs them (there is no container runtime); the apiserver validates every object, its
admission chain runs, and Pod Security's warn mode reports any pod template the restricted
standard would refuse.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantprobe.kube.client.api import KubeClient, describe
from tenantprobe.kube.client.template import ManifestTemplate

APP = Path(__file__).parents[2] / "k8s" / "app"


@pytest.fixture
def manifests(admin: KubeClient) -> Iterator[list[dict[str, Any]]]:
    """The manifests in a namespace of their own, which exists for real (dry runs need it)."""
    template = ManifestTemplate.load(APP)
    rendered = template.render({**template.values, "namespace": f"pake-{uuid.uuid4().hex[:8]}"})
    namespace = next(m for m in rendered if m["kind"] == "Namespace")
    assert admin.apply(namespace).status == 201
    yield [m for m in rendered if m is not namespace]
    admin.delete(f"/api/v1/namespaces/{namespace['metadata']['name']}")


def test_app_manifests_pass_a_server_dry_run_without_warnings(
    admin: KubeClient, manifests: list[dict[str, Any]]
) -> None:
    assert {m["kind"] for m in manifests} >= {"ConfigMap", "Deployment", "Service"}
    for manifest in manifests:
        response = admin.apply(manifest, dry_run=True)
        assert response.ok, f"{describe(manifest)}: {response.status} {response.message}"
        assert response.warnings == [], f"{describe(manifest)}: {response.warnings}"


def test_dry_run_would_report_a_pod_template_that_breaks_the_restricted_standard(
    admin: KubeClient, manifests: list[dict[str, Any]]
) -> None:
    deployment = copy.deepcopy(next(m for m in manifests if m["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["hostNetwork"] = True
    response = admin.apply(deployment, dry_run=True)
    assert response.ok
    assert any("violate PodSecurity" in warning and "hostNetwork" in warning for warning in response.warnings)
