"""``tenantprobe provision`` and ``tenantprobe deprovision``: one command, one tenant, all layers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from tenantprobe.errors import ProfileError
from tenantprobe.kube.client.api import KubeClient
from tenantprobe.kube.client.app import AppTenants
from tenantprobe.kube.client.cluster import find_kubeconfig, profile_kubeconfig
from tenantprobe.kube.client.template import TenantTemplate
from tenantprobe.profiles import load_profile


@dataclass(frozen=True)
class Options:
    kubeconfig: str | None
    template: Path
    target: Path | None
    app_url: str | None
    app_key_file: Path | None
    app_token: str | None


@contextmanager
def _session(options: Options) -> Iterator[tuple[KubeClient, TenantTemplate, AppTenants | None]]:
    profile = load_profile(options.target) if options.target and options.target.exists() else None
    if options.app_url and profile is None:
        raise ProfileError(f"--target {options.target}: no such profile; --with-app-url needs the app's profile")
    kubeconfig = find_kubeconfig(options.kubeconfig, profile_kubeconfig(profile), default_file=True)
    if kubeconfig is None:
        raise ProfileError(
            "no cluster: pass --kubeconfig, set KUBECONFIG, or give the profile a kubernetes.kubeconfig "
            "(python -m tenantprobe.kube.local.controlplane starts a local control plane and prints one)"
        )
    pattern = profile.kubernetes.get("namespace_pattern") if profile else None
    template = TenantTemplate.load(options.template, pattern)
    client = KubeClient.from_kubeconfig(kubeconfig)
    app = None
    try:
        if options.app_url:
            assert profile is not None
            app = AppTenants.from_profile(
                options.app_url, profile, key_file=options.app_key_file, token=options.app_token
            )
        yield client, template, app
    finally:
        client.close()
        if app is not None:
            app.close()


def provision(tenant: str, options: Options, timeout: float) -> None:
    from tenantprobe.kube.client.provision import provision as run

    with _session(options) as (client, template, app):
        layers = "Kubernetes" + (f" and {app.description}" if app else "")
        typer.echo(f"provisioning tenant {tenant} ({layers}) on {client.server} from {template.directory}")
        result = run(client, template, tenant, app=app, progress=lambda line: typer.echo(f"  {line}"), timeout=timeout)
    parts = [f"kubernetes {result.kubernetes_seconds:.3f} s", f"until usable {result.ready_seconds:.3f} s"]
    if app is not None:
        parts.append(f"app {result.app_seconds:.3f} s")
    typer.echo(
        f"tenant {tenant} provisioned in {result.seconds:.3f} s ({', '.join(parts)}): namespace {result.namespace}"
    )


def deprovision(tenant: str, options: Options, wait: bool) -> None:
    from tenantprobe.kube.client.provision import deprovision as run

    with _session(options) as (client, template, app):
        typer.echo(f"deprovisioning tenant {tenant} on {client.server}")
        result = run(client, template, tenant, app=app, progress=lambda line: typer.echo(f"  {line}"), wait=wait)
    typer.echo(f"tenant {tenant} deprovisioned in {result.seconds:.3f} s")
