"""Provision and deprovision one tenant across all layers: its namespace objects and its app tenant.

Kubernetes objects go in by server-side apply, so provisioning is idempotent: running it again
changes nothing, or converges a tenant to an updated template. A tenant counts as provisioned
when it is *usable*: its quotas are in force (the quota controller has filled their status;
until then the apiserver refuses every pod) and its ``default`` service account exists (until
then the ServiceAccount admission plugin refuses every pod). A provisioning that fails on the
way removes what it created and raises :class:`ProvisioningError` naming the failed step;
objects that were already there are left alone, so a failed re-run never destroys a tenant.

Example::

    template = TenantTemplate.load(Path("k8s/tenant-template"))
    result = provision(client, template, "acme", app=app_tenants, progress=print)
    result.seconds  # wall time, all layers
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tenantprobe.errors import ProvisioningError, TenantProbeError
from tenantprobe.kube.client.api import KubeClient, describe, kind_of, object_path
from tenantprobe.kube.client.template import TENANT_LABEL, RenderedTenant, TenantTemplate

Progress = Callable[[str], None]
POLL_SECONDS = 0.02


class AppLayer(Protocol):
    """The application's side of a tenant (a row in the reference app's tenants table)."""

    description: str

    def create(self, tenant: str) -> tuple[str, bool]:
        """Create the tenant if needed; return its id and whether this call created it."""
        ...

    def delete(self, tenant: str) -> bool:
        """Delete the tenant; return whether it existed."""
        ...


@dataclass(frozen=True)
class Step:
    what: str
    outcome: str
    seconds: float


@dataclass
class ProvisionResult:
    tenant: str
    namespace: str
    steps: list[Step] = field(default_factory=list)
    kubernetes_seconds: float = 0.0
    ready_seconds: float = 0.0
    app_seconds: float = 0.0
    seconds: float = 0.0
    app_tenant_id: str | None = None

    @property
    def created(self) -> list[str]:
        return [step.what for step in self.steps if step.outcome == "created"]


@dataclass
class DeprovisionResult:
    tenant: str
    namespace: str
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0


def _quiet(_: str) -> None:
    pass


def _failure(response_status: int, message: str, body: Any) -> str:
    return f"{response_status} {message or str(body)[:300]}"


def provision(
    client: KubeClient,
    template: TenantTemplate,
    tenant: str,
    *,
    app: AppLayer | None = None,
    progress: Progress = _quiet,
    timeout: float = 60.0,
) -> ProvisionResult:
    """Apply the tenant's objects, wait until the namespace is usable, then create the app tenant."""
    rendered = template.render_tenant(tenant)
    result = ProvisionResult(tenant, rendered.namespace)
    started = time.perf_counter()
    created: list[dict[str, Any]] = []
    app_created = False
    total = len(rendered.objects) + 1 + (1 if app else 0)
    step = 0
    current = "rendering the template"
    try:
        for manifest in rendered.objects:
            step += 1
            current = f"applying {describe(manifest)}"
            t0 = time.perf_counter()
            response = client.apply(manifest)
            if not response.ok:
                raise ProvisioningError(_failure(response.status, response.message, response.body))
            outcome = "created" if response.status == 201 else "applied"
            if outcome == "created":
                created.append(manifest)
            result.steps.append(Step(describe(manifest), outcome, time.perf_counter() - t0))
            progress(f"[{step}/{total}] {describe(manifest)}: {outcome} ({(time.perf_counter() - t0) * 1000:.0f} ms)")
        result.kubernetes_seconds = time.perf_counter() - started
        step += 1
        current = f"waiting until namespace {rendered.namespace} is usable"
        t0 = time.perf_counter()
        _wait_usable(client, rendered, time.monotonic() + timeout)
        result.ready_seconds = time.perf_counter() - t0
        result.steps.append(Step(f"namespace {rendered.namespace} usable", "ready", result.ready_seconds))
        progress(
            f"[{step}/{total}] namespace {rendered.namespace} usable: quotas in force, default service account "
            f"present ({result.ready_seconds * 1000:.0f} ms)"
        )
        if app is not None:
            step += 1
            current = f"creating the tenant in {app.description}"
            t0 = time.perf_counter()
            result.app_tenant_id, app_created = app.create(tenant)
            result.app_seconds = time.perf_counter() - t0
            outcome = "created" if app_created else "applied"
            result.steps.append(Step(f"{app.description} tenant {tenant}", outcome, result.app_seconds))
            progress(
                f"[{step}/{total}] {app.description} tenant {tenant} ({result.app_tenant_id}): {outcome} "
                f"({result.app_seconds * 1000:.0f} ms)"
            )
    except BaseException as exc:
        undone = _rollback(client, rendered, created, app if app_created else None)
        if not isinstance(exc, TenantProbeError):
            raise
        kept = [s.what for s in result.steps if s.outcome == "applied"]
        raise ProvisioningError(
            f"provisioning tenant {tenant!r} failed while {current}: {exc}\n"
            f"rolled back: {', '.join(undone) or 'nothing had been created'}"
            + (f"\nleft in place (they existed before this run): {', '.join(kept)}" if kept else "")
        ) from None
    result.seconds = time.perf_counter() - started
    return result


def _wait_usable(client: KubeClient, rendered: RenderedTenant, deadline: float) -> None:
    """Until every quota of the template has a status matching its spec and the default service account exists."""
    pending = {object_path(m) for m in rendered.objects if m["kind"] == "ResourceQuota"}
    account = f"/api/v1/namespaces/{rendered.namespace}/serviceaccounts/default"
    account_ready = False
    last: dict[str, str] = {}
    while True:
        for path in sorted(pending):
            response = client.get(path)
            body = response.body if response.ok and isinstance(response.body, dict) else {}
            hard = (body.get("spec") or {}).get("hard") or {}
            if hard and (body.get("status") or {}).get("hard") == hard:
                pending.discard(path)
            else:
                last[path] = "its status does not show the spec's limits yet"
        if not account_ready:
            account_ready = client.get(account).ok
        if not pending and account_ready:
            return
        if time.monotonic() > deadline:
            waiting = [f"ResourceQuota {path.rsplit('/', 1)[-1]}: {last[path]}" for path in sorted(pending)]
            if not account_ready:
                waiting.append("the default ServiceAccount does not exist")
            raise ProvisioningError(
                "the namespace did not become usable: "
                + "; ".join(waiting)
                + ". Is kube-controller-manager running with its resourcequota and serviceaccount controllers?"
            )
        time.sleep(POLL_SECONDS)


def _rollback(
    client: KubeClient, rendered: RenderedTenant, created: list[dict[str, Any]], app: AppLayer | None
) -> list[str]:
    """Delete what this run created, newest first; deleting a namespace this run created removes its contents."""
    undone: list[str] = []
    if app is not None:
        try:
            app.delete(rendered.tenant)
            undone.append(f"{app.description} tenant {rendered.tenant}")
        except TenantProbeError as exc:
            undone.append(f"NOT {app.description} tenant {rendered.tenant} ({exc})")
    namespace_created = any(m["kind"] == "Namespace" for m in created)
    for manifest in reversed(created):
        inside = kind_of(manifest).namespaced and manifest["metadata"].get("namespace") == rendered.namespace
        if namespace_created and inside:
            continue
        try:
            response = client.delete(object_path(manifest))
        except TenantProbeError as exc:
            undone.append(f"NOT {describe(manifest)} ({exc})")
            continue
        if response.ok or response.status == 404:
            undone.append(describe(manifest) + (" (terminating)" if manifest["kind"] == "Namespace" else ""))
        else:
            undone.append(f"NOT {describe(manifest)} ({response.status} {response.message})")
    return undone


def deprovision(
    client: KubeClient,
    template: TenantTemplate,
    tenant: str,
    *,
    app: AppLayer | None = None,
    progress: Progress = _quiet,
    wait: bool = False,
    timeout: float = 120.0,
) -> DeprovisionResult:
    """Remove the tenant everywhere: the app tenant, objects outside its namespace, then the namespace.

    Idempotent: what is already gone is reported as ``absent``. Objects outside the namespace are
    found from the template and, in case the template changed since, by the tenant label.
    """
    rendered = template.render_tenant(tenant)
    result = DeprovisionResult(tenant, rendered.namespace)
    started = time.perf_counter()

    def record(what: str, outcome: str, t0: float) -> None:
        result.steps.append(Step(what, outcome, time.perf_counter() - t0))
        progress(f"{what}: {outcome} ({(time.perf_counter() - t0) * 1000:.0f} ms)")

    if app is not None:
        t0 = time.perf_counter()
        record(f"{app.description} tenant {tenant}", "deleted" if app.delete(tenant) else "absent", t0)
    outside = {
        object_path(m): describe(m)
        for m in rendered.objects
        if not kind_of(m).namespaced or m["metadata"].get("namespace") != rendered.namespace
    }
    outside.pop(f"/api/v1/namespaces/{rendered.namespace}", None)
    for kind, plural in (("ClusterRoleBinding", "clusterrolebindings"), ("ClusterRole", "clusterroles")):
        collection = f"/apis/rbac.authorization.k8s.io/v1/{plural}"
        for item in client.items(collection, label_selector=f"{TENANT_LABEL}={tenant}"):
            outside.setdefault(f"{collection}/{item['metadata']['name']}", f"{kind} {item['metadata']['name']}")
    namespace_path = f"/api/v1/namespaces/{rendered.namespace}"
    for path, what in [*outside.items(), (namespace_path, f"Namespace {rendered.namespace}")]:
        t0 = time.perf_counter()
        response = client.delete(path)
        if response.status == 404:
            record(what, "absent", t0)
        elif response.ok:
            record(what, "deleted", t0)
        else:
            raise ProvisioningError(
                f"deprovisioning tenant {tenant!r}: deleting {what} answered {response.status} {response.message}"
            )
    if wait:
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout
        while client.get(namespace_path).status != 404:
            if time.monotonic() > deadline:
                raise ProvisioningError(
                    f"namespace {rendered.namespace} still exists {timeout:.0f} s after its deletion; "
                    "is kube-controller-manager's namespace controller running?"
                )
            time.sleep(0.2)
        record(f"Namespace {rendered.namespace} gone", "removed", t0)
    result.seconds = time.perf_counter() - started
    return result
