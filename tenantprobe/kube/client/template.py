"""Manifest templates: a directory of YAML files with ``${name}`` placeholders and a ``values.yaml``.

The YAML is parsed first and placeholders are filled in the parsed strings (keys and values),
so no value can change the structure of a manifest. A scalar that is exactly one placeholder
takes the value's YAML type (``replicas: ${replicas}`` stays a number).

Example (``k8s/tenant-template`` is the tenant template)::

    template = TenantTemplate.load(Path("k8s/tenant-template"))
    rendered = template.render_tenant("acme")
    rendered.namespace          # "tenant-acme"
    rendered.variables["admin_group"]  # "tenant:acme:admins"
    [describe(m) for m in rendered.objects]  # Namespace first, bindings last
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tenantprobe.errors import ProfileError
from tenantprobe.kube.client.api import kind_of

VALUES_FILE = "values.yaml"
DEFAULT_NAMESPACE_PATTERN = "tenant-{tenant}"
TENANT_LABEL = "tenantprobe.io/tenant"
MANAGED_BY = {"app.kubernetes.io/managed-by": "tenantprobe"}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

# Guards before grants: the namespace, then what confines the tenant (quota, limits, network
# policies), then everything else, and the role bindings last. A provisioning that stops
# half-way never leaves a tenant with access to an unguarded namespace.
_APPLY_RANK = {
    "Namespace": 0,
    "ResourceQuota": 1,
    "LimitRange": 1,
    "NetworkPolicy": 1,
    "Role": 3,
    "ClusterRole": 3,
    "RoleBinding": 4,
    "ClusterRoleBinding": 4,
}
_OTHER_RANK = 2


def check_tenant_name(tenant: str) -> str:
    """A tenant name must be a DNS label (it becomes part of namespace and object names)."""
    if not _DNS_LABEL.match(tenant):
        raise ProfileError(
            f"tenant name {tenant!r}: expected a DNS label (lower-case letters, digits and '-', starting and "
            "ending with a letter or digit, at most 63 characters), e.g. 'acme' or 'acme-eu'"
        )
    return tenant


def _substitute(value: Any, variables: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, dict):
        return {
            str(_substitute(k, variables, where)): _substitute(v, variables, f"{where}.{k}") for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute(item, variables, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def lookup(name: str) -> Any:
        if name not in variables:
            close = difflib.get_close_matches(name, list(variables), n=1)
            hint = f" Did you mean ${{{close[0]}}}?" if close else ""
            raise ProfileError(
                f"{where}: ${{{name}}} is not a value of the template (values.yaml keys, tenant, namespace).{hint}"
            )
        return variables[name]

    whole = _PLACEHOLDER.fullmatch(value)
    if whole:
        return lookup(whole.group(1))
    return _PLACEHOLDER.sub(lambda m: str(lookup(m.group(1))), value)


@dataclass(frozen=True)
class ManifestTemplate:
    """A directory of manifests with placeholders, and the values that fill them."""

    directory: Path
    values: dict[str, Any]
    documents: tuple[tuple[str, dict[str, Any]], ...]  # (where, parsed manifest)

    @classmethod
    def load(cls, directory: Path) -> ManifestTemplate:
        if not directory.is_dir():
            raise ProfileError(f"{directory}: no such template directory (a directory of YAML manifests)")
        values_path = directory / VALUES_FILE
        values: Any = {}
        if values_path.exists():
            values = _parse(values_path)
            values = values[0] if values else {}
            if not isinstance(values, dict):
                raise ProfileError(f"{values_path}: expected a mapping of names to values")
        documents = []
        for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
            if path.name == VALUES_FILE:
                continue
            for index, document in enumerate(_parse(path)):
                where = f"{path}" + (f" (document {index + 1})" if index else "")
                if not isinstance(document, dict) or not {"apiVersion", "kind", "metadata"} <= document.keys():
                    raise ProfileError(f"{where}: not a Kubernetes manifest (apiVersion, kind and metadata expected)")
                if not isinstance(document["metadata"], dict) or not document["metadata"].get("name"):
                    raise ProfileError(f"{where}: metadata.name is missing")
                documents.append((where, document))
        if not documents:
            raise ProfileError(f"{directory}: no manifests (*.yaml other than {VALUES_FILE})")
        return cls(directory, values, tuple(documents))

    def render(self, variables: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every manifest with its placeholders filled, in file order."""
        rendered = []
        for where, document in self.documents:
            manifest = _substitute(document, variables, where)
            kind_of(manifest)  # an unknown kind fails here, before anything is applied
            rendered.append(manifest)
        return rendered


def _parse(path: Path) -> list[Any]:
    try:
        return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None


@dataclass(frozen=True)
class RenderedTenant:
    """One tenant's manifests, in the order they are applied."""

    tenant: str
    namespace: str
    variables: dict[str, Any]
    objects: tuple[dict[str, Any], ...]

    @property
    def admin_group(self) -> str:
        return str(self.variables.get("admin_group", ""))


@dataclass(frozen=True)
class TenantTemplate:
    """The namespace-per-tenant template: a :class:`ManifestTemplate` that creates one namespace."""

    manifests: ManifestTemplate
    namespace_pattern: str = DEFAULT_NAMESPACE_PATTERN

    @classmethod
    def load(cls, directory: Path, namespace_pattern: str | None = None) -> TenantTemplate:
        pattern = namespace_pattern or DEFAULT_NAMESPACE_PATTERN
        if "{tenant}" not in pattern:
            raise ProfileError(
                f"kubernetes.namespace_pattern: {pattern!r} does not contain {{tenant}}, so every tenant would "
                "share one namespace; e.g. 'tenant-{tenant}'"
            )
        return cls(ManifestTemplate.load(directory), pattern)

    @property
    def directory(self) -> Path:
        return self.manifests.directory

    def variables(self, tenant: str) -> dict[str, Any]:
        """The values for one tenant: ``tenant``, ``namespace`` and values.yaml, filled in."""
        check_tenant_name(tenant)
        namespace = self.namespace_pattern.replace("{tenant}", tenant)
        if not _DNS_LABEL.match(namespace):
            raise ProfileError(
                f"namespace {namespace!r} (from pattern {self.namespace_pattern!r}) is not a DNS label of at most "
                "63 characters; use a shorter tenant name or pattern"
            )
        builtins = {"tenant": tenant, "namespace": namespace}
        where = str(self.directory / VALUES_FILE)
        values = {
            name: _substitute(value, builtins, f"{where}: {name}") for name, value in self.manifests.values.items()
        }
        return {**values, **builtins}

    def render_tenant(self, tenant: str) -> RenderedTenant:
        """The tenant's objects: labelled as tenantprobe's, namespaced into its namespace, guards first."""
        variables = self.variables(tenant)
        namespace = variables["namespace"]
        objects = []
        for manifest in self.manifests.render(variables):
            metadata = manifest["metadata"]
            metadata["labels"] = {**(metadata.get("labels") or {}), TENANT_LABEL: tenant, **MANAGED_BY}
            if kind_of(manifest).namespaced:
                metadata.setdefault("namespace", namespace)
            objects.append(manifest)
        namespaces = [m for m in objects if m["kind"] == "Namespace"]
        if [m["metadata"]["name"] for m in namespaces] != [namespace]:
            raise ProfileError(
                f"{self.directory}: a tenant template must create exactly one Namespace named ${{namespace}} "
                f"({namespace!r} for tenant {tenant!r}); found {[m['metadata']['name'] for m in namespaces]}"
            )
        objects.sort(key=lambda m: _APPLY_RANK.get(m["kind"], _OTHER_RANK))
        return RenderedTenant(tenant, namespace, variables, tuple(objects))
