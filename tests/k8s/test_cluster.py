"""Identities on the cluster: one client configuration each, and the apiserver sees who they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantprobe.errors import ProfileError
from tenantprobe.kube.client.api import Access, KubeClient
from tenantprobe.kube.client.cluster import Cluster, find_kubeconfig
from tenantprobe.kube.local.controlplane import binaries_current

REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def who(client: KubeClient) -> tuple[str, list[str]]:
    response = client.request(
        "POST", REVIEW, body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    assert response.ok, response.message
    info = response.body["status"]["userInfo"]
    return info["username"], info.get("groups", [])


def test_identity_is_seen_by_the_apiserver_as_that_user_in_that_group(kube_cluster: Cluster) -> None:
    client = kube_cluster.identity("alice@acme", "tenant:acme:admins")
    user, groups = who(client)
    assert (user, "tenant:acme:admins") == ("alice@acme", groups[0])
    assert client is kube_cluster.identity("alice@acme", "tenant:acme:admins")
    assert client is not kube_cluster.identity("bob@acme", "tenant:acme:admins")


def test_impersonated_identity_is_authorized_as_the_user(kube_cluster: Cluster) -> None:
    client = kube_cluster.admin.impersonating("mallory@acme", "tenant:acme:admins")
    try:
        assert who(client)[0] == "mallory@acme"
        assert not client.review(Access("list", "secrets", namespace="kube-system")).allowed
        assert kube_cluster.admin.review(Access("list", "secrets", namespace="kube-system")).allowed
    finally:
        client.close()


def test_service_account_gets_a_real_token(kube_cluster: Cluster) -> None:
    client = kube_cluster.service_account("default", "default")
    assert who(client) == (
        "system:serviceaccount:default:default",
        ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
    )


def test_local_control_plane_binaries_are_current_when_they_are_used(kube_cluster: Cluster) -> None:
    assert kube_cluster.control_plane is None or binaries_current()
    assert kube_cluster.version.startswith("v1.")


def test_kubeconfig_comes_from_option_then_profile_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {name: tmp_path / name for name in ("option", "profile", "env", "home")}
    for path in files.values():
        path.write_text("{}")
    monkeypatch.setenv("KUBECONFIG", str(files["env"]))
    assert find_kubeconfig(str(files["option"]), str(files["profile"]), default_file=False) == files["option"]
    assert find_kubeconfig(None, str(files["profile"]), default_file=False) == files["profile"]
    assert find_kubeconfig(None, None, default_file=False) == files["env"]
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("{}")
    assert find_kubeconfig(None, None, default_file=False) is None, "the suites never fall back to ~/.kube/config"
    assert find_kubeconfig(None, None, default_file=True) == tmp_path / ".kube" / "config"
    with pytest.raises(ProfileError, match="no such file"):
        find_kubeconfig(str(tmp_path / "missing"), None, default_file=False)
