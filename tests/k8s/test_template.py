"""Rendering the tenant template: placeholders, labels, namespaces, and the order of application."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantprobe.errors import ProfileError
from tenantprobe.kube.client.api import describe
from tenantprobe.kube.client.template import TENANT_LABEL, ManifestTemplate, TenantTemplate
from tests.k8s.conftest import SECURE_TEMPLATE, copy_template


def test_secure_template_renders_every_object_of_the_tenant_into_its_namespace() -> None:
    rendered = TenantTemplate.load(SECURE_TEMPLATE).render_tenant("acme")
    assert rendered.namespace == "tenant-acme"
    assert rendered.admin_group == "tenant:acme:admins"
    kinds = [m["kind"] for m in rendered.objects]
    assert set(kinds) == {
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "ServiceAccount",
        "Role",
        "RoleBinding",
    }
    assert kinds.count("NetworkPolicy") == 4
    for manifest in rendered.objects:
        assert manifest["metadata"]["labels"][TENANT_LABEL] == "acme"
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"]["namespace"] == "tenant-acme"
    binding = next(m for m in rendered.objects if m["kind"] == "RoleBinding")
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "tenant:acme:admins"}
    ]


def test_guards_are_applied_before_grants() -> None:
    kinds = [m["kind"] for m in TenantTemplate.load(SECURE_TEMPLATE).render_tenant("acme").objects]
    assert kinds[0] == "Namespace"
    last_guard = max(kinds.index(k) for k in ("ResourceQuota", "LimitRange", "NetworkPolicy"))
    assert last_guard < kinds.index("Role") < kinds.index("RoleBinding") == len(kinds) - 1


def test_namespace_pattern_names_the_namespace() -> None:
    rendered = TenantTemplate.load(SECURE_TEMPLATE, "saas-{tenant}-prod").render_tenant("acme")
    assert rendered.namespace == "saas-acme-prod"
    assert "Namespace saas-acme-prod" in [describe(m) for m in rendered.objects]


def test_pattern_without_tenant_is_refused() -> None:
    with pytest.raises(ProfileError, match="does not contain \\{tenant\\}"):
        TenantTemplate.load(SECURE_TEMPLATE, "shared")


@pytest.mark.parametrize("name", ["Acme", "acme_eu", "-acme", "a" * 64, ""])
def test_tenant_name_that_is_not_a_dns_label_is_refused(name: str) -> None:
    with pytest.raises(ProfileError, match="DNS label"):
        TenantTemplate.load(SECURE_TEMPLATE).render_tenant(name)


def test_misspelt_placeholder_is_named_with_the_file_and_a_suggestion(tmp_path: Path) -> None:
    template = copy_template(
        tmp_path / "t",
        {"50-config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {group: '${admin_grup}'}\n"},
    )
    with pytest.raises(ProfileError, match=r"50-config.yaml.*\$\{admin_grup\}.*Did you mean \$\{admin_group\}"):
        template.render_tenant("acme")


def test_placeholder_values_cannot_change_the_manifest_structure(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text('note: "a: b\\nkind: Secret"\n')
    (tmp_path / "c.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {note: '${note}'}\n")
    template = ManifestTemplate.load(tmp_path)
    [config_map] = template.render(template.values)
    assert config_map["kind"] == "ConfigMap"
    assert config_map["data"] == {"note": "a: b\nkind: Secret"}


def test_unknown_kind_is_refused_before_anything_is_applied(tmp_path: Path) -> None:
    template = copy_template(
        tmp_path / "t", {"50-x.yaml": "apiVersion: apps/v1\nkind: Deploymnt\nmetadata: {name: x}\n"}
    )
    with pytest.raises(ProfileError, match="Did you mean apps/v1/Deployment"):
        template.render_tenant("acme")


def test_template_must_create_exactly_its_namespace(tmp_path: Path) -> None:
    template = copy_template(tmp_path / "t", drop=("00-namespace.yaml",))
    with pytest.raises(ProfileError, match="exactly one Namespace"):
        template.render_tenant("acme")


def test_missing_template_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such template directory"):
        TenantTemplate.load(tmp_path / "nowhere")
