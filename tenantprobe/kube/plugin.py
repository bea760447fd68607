"""The pytest plugin of the Kubernetes suites (``suites/quota``, ``suites/rbac``): a cluster and tenant namespaces.

The cluster is the one ``--kubeconfig`` names, else the profile's ``kubernetes.kubeconfig``,
else ``$KUBECONFIG``; with none of them, a local control plane is started for the session
(``~/.kube/config`` is never used implicitly: the suites create namespaces and bindings).
``--tenants`` tenants are provisioned from ``--tenant-template`` with the same code as
``tenantprobe provision``, and removed at the end on a cluster the user named.

Registered like the core plugin (root ``conftest.py`` and a ``pytest11`` entry point). It
imports the ``kubernetes`` client only when a Kubernetes fixture is used.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tenantprobe.errors import TenantProbeError

OPTION_KUBECONFIG = "--kubeconfig"
OPTION_TEMPLATE = "--tenant-template"
OPTION_PREFIX = "--k8s-tenant-prefix"
OPTION_PROBE_IMAGE = "--probe-image"
OPTION_PROBE_NODE = "--probe-node"
OPTION_PROBE_READY_TIMEOUT = "--probe-ready-timeout"
DEFAULT_TEMPLATE = Path("k8s/tenant-template")
CLUSTER_FIXTURE = "kube_cluster"
# Fixtures that start a local probe node, whose enforcer must be built first.
PROBE_FIXTURES = ("probe_node", "kube_router_binary")
ADMIN_USER = "admin@{tenant}"

_cluster_key = pytest.StashKey[Any]()
_cluster_writer_key = pytest.StashKey[Any]()
_prefix_key = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tenantprobe")
    group.addoption(
        OPTION_KUBECONFIG,
        default=None,
        help="cluster of the Kubernetes suites (default: the profile's kubernetes.kubeconfig, then KUBECONFIG, "
        "else a local control plane started for the run)",
    )
    group.addoption(OPTION_TEMPLATE, default=None, help=f"tenant template directory (default {DEFAULT_TEMPLATE})")
    group.addoption(
        OPTION_PREFIX,
        default=None,
        help="names of the tenants the Kubernetes suites provision: PREFIX-1, PREFIX-2, ... (default: random)",
    )
    group.addoption(
        OPTION_PROBE_IMAGE,
        default=None,
        help="image of the network suite's probe pods on a cluster: any image with Python >= 3.10 as python3 on "
        "its PATH (default docker.io/library/python:3.13-alpine; netprobe.py comes from a config map)",
    )
    group.addoption(
        OPTION_PROBE_NODE,
        default=None,
        help="bind the network suite's probe pods to this node and treat its network plugin as the cluster's "
        "(default: the cluster's scheduler places them; a tenantprobe probe node is used when there is one)",
    )
    group.addoption(
        OPTION_PROBE_READY_TIMEOUT,
        type=float,
        default=120.0,
        help="seconds the network suite waits for its probe pods to be Running and Ready, image pulls included "
        "(default 120); pods still not ready leave the probing controls not assessed",
    )


def _profile(config: pytest.Config) -> Any:
    from tenantprobe.profiles import load_profile

    option = config.getoption("--tenantprobe-target", None)  # the long name: --target may be another plugin's
    path = Path(option) if option else config.rootpath / "targets/reference.yaml"
    return load_profile(path) if option or path.exists() else None


def _kubeconfig(config: pytest.Config) -> Path | None:
    from tenantprobe.kube.client.cluster import find_kubeconfig, profile_kubeconfig

    return find_kubeconfig(
        config.getoption(OPTION_KUBECONFIG), profile_kubeconfig(_profile(config)), default_file=False
    )


def _template_dir(config: pytest.Config) -> Path:
    option = config.getoption(OPTION_TEMPLATE)
    return Path(option) if option else config.rootpath / DEFAULT_TEMPLATE


def pytest_configure(config: pytest.Config) -> None:
    prefix = config.getoption(OPTION_PREFIX) or f"tp{secrets.token_hex(3)}"
    from tenantprobe.kube.client.template import check_tenant_name

    try:
        check_tenant_name(f"{prefix}-1")
    except TenantProbeError as exc:
        raise pytest.UsageError(f"{OPTION_PREFIX}: {exc}") from None
    config.stash[_prefix_key] = prefix


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the local control plane (and kube-router, for network probing) before the first test.

    A first build takes minutes; done here it is outside any test's timeout and not captured."""
    if not any(_uses(item, (CLUSTER_FIXTURE,)) for item in session.items):
        return
    try:
        if _kubeconfig(session.config) is not None:
            return
    except TenantProbeError as exc:
        raise pytest.UsageError(str(exc)) from None
    from tenantprobe.kube.local.controlplane import binaries_current, ensure_binaries

    if not binaries_current():
        _build_before_tests(
            session,
            "the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) from the Go "
            "module proxy; the first build takes several minutes, later runs use the cache. Set KUBECONFIG or "
            "--kubeconfig to use a cluster instead.",
            ensure_binaries,
        )
    if any(_uses(item, PROBE_FIXTURES) for item in session.items):
        from tenantprobe.kube.local.enforcer import ensure_kube_router, kube_router_current
        from tenantprobe.kube.network.probenode import local_probing_unavailable

        if local_probing_unavailable() is None and not kube_router_current():
            _build_before_tests(
                session,
                "kube-router (the NetworkPolicy enforcer of the local probe node) from the Go module proxy, "
                "and ipset/iptables with apt-get when missing; later runs use the cache.",
                ensure_kube_router,
            )


def _uses(item: pytest.Item, fixtures: tuple[str, ...]) -> bool:
    return any(name in getattr(item, "fixturenames", ()) for name in fixtures)


def _build_before_tests(session: pytest.Session, what: str, build: Callable[[], object]) -> None:
    """Build outside any test's timeout, with the progress on the terminal (not captured)."""
    capture = session.config.pluginmanager.getplugin("capturemanager")
    guard = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with guard:
        print(f"\ntenantprobe: building {what}", flush=True)
        try:
            build()
        except TenantProbeError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not (
        config.getoption(OPTION_KUBECONFIG) or config.getoption(OPTION_TEMPLATE) or config.getoption(OPTION_PREFIX)
    ):
        return []
    cluster = config.getoption(OPTION_KUBECONFIG) or "profile/KUBECONFIG/local control plane"
    return [f"tenantprobe kubernetes: cluster {cluster}, template {_template_dir(config)}"]


# ---------------------------------------------------------------------- fixtures
@dataclass
class KubeTenant:
    """A tenant namespace provisioned for the run, with a client for its administrator identity."""

    name: str
    namespace: str
    admin_group: str
    admin: Any  # KubeClient acting as ADMIN_USER in admin_group
    rendered: Any  # RenderedTenant

    @property
    def workload_service_account(self) -> str | None:
        name = self.rendered.variables.get("workload_service_account")
        kinds = {(m["kind"], m["metadata"]["name"]) for m in self.rendered.objects}
        return str(name) if name and ("ServiceAccount", name) in kinds else None


@pytest.fixture(scope="session")
def kube_cluster(request: pytest.FixtureRequest, results_writer: Any) -> Iterator[Any]:
    """The cluster of the run (:class:`tenantprobe.kube.client.cluster.Cluster`)."""
    from tenantprobe.kube.client.cluster import Cluster

    try:
        kubeconfig = _kubeconfig(request.config)
        cluster = Cluster.connect(kubeconfig) if kubeconfig else Cluster.local()
    except TenantProbeError as exc:
        raise pytest.UsageError(str(exc)) from None
    request.config.stash[_cluster_key] = cluster
    # The cluster is a facet of its own: the session writer keeps the app's identity for the
    # records the app's checks write in the same session.
    request.config.stash[_cluster_writer_key] = results_writer.with_target(
        {
            "facet": "cluster",
            "name": "kubernetes",
            **cluster.describe(),
            "tenant_template": str(_template_dir(request.config)),
        }
    )
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def kube_template(request: pytest.FixtureRequest) -> Any:
    """The tenant template under test (``--tenant-template``)."""
    from tenantprobe.kube.client.template import TenantTemplate

    profile = _profile(request.config)
    pattern = profile.kubernetes.get("namespace_pattern") if profile else None
    try:
        return TenantTemplate.load(_template_dir(request.config), pattern)
    except TenantProbeError as exc:
        raise pytest.UsageError(f"{OPTION_TEMPLATE}: {exc}") from None


class _Tenants:
    """Provisions tenants on the session's cluster and removes them at the end on a cluster the user named."""

    def __init__(self, cluster: Any, template: Any, prefix: str) -> None:
        self.cluster, self.template, self.prefix = cluster, template, prefix
        self.made: list[KubeTenant] = []

    def new(self, suffix: str) -> KubeTenant:
        from tenantprobe.kube.client.provision import provision

        name = f"{self.prefix}-{suffix}"
        provision(self.cluster.admin, self.template, name)
        rendered = self.template.render_tenant(name)
        admin = self.cluster.identity(ADMIN_USER.format(tenant=name), rendered.admin_group)
        tenant = KubeTenant(name, rendered.namespace, rendered.admin_group, admin, rendered)
        self.made.append(tenant)
        return tenant

    def remove_all(self) -> None:
        from tenantprobe.kube.client.provision import deprovision

        if self.cluster.control_plane is None:  # a local control plane is thrown away whole
            for tenant in self.made:
                deprovision(self.cluster.admin, self.template, tenant.name)


@pytest.fixture(scope="session")
def _kube_tenant_factory(request: pytest.FixtureRequest, kube_cluster: Any, kube_template: Any) -> Iterator[_Tenants]:
    factory = _Tenants(kube_cluster, kube_template, request.config.stash[_prefix_key])
    yield factory
    factory.remove_all()


@pytest.fixture(scope="session")
def kube_tenants(request: pytest.FixtureRequest, _kube_tenant_factory: _Tenants) -> list[KubeTenant]:
    """``--tenants`` tenant namespaces provisioned from the template: PREFIX-1 ... PREFIX-N."""
    count = request.config.getoption("--tenantprobe-tenants")
    return [_kube_tenant_factory.new(str(index)) for index in range(1, count + 1)]


@pytest.fixture
def kube_scratch_tenant(request: pytest.FixtureRequest, _kube_tenant_factory: _Tenants) -> KubeTenant:
    """A tenant of its own for a check that uses up its quota, so no other check sees a full namespace."""
    return _kube_tenant_factory.new(f"s{len(_kube_tenant_factory.made) + 1}")


@pytest.fixture
def kube_probe(request: pytest.FixtureRequest, kube_cluster: Any, results_writer: Any) -> Iterator[Any]:
    """Collects this check's attempts; the plugin finishes it when the check returns."""
    from tenantprobe.kube.client.checks import KubeProbe

    probe = KubeProbe(request.node.nodeid, request.config.stash[_cluster_writer_key])
    yield probe
    if probe.unfinished:
        # The check stopped early: keep what it established, without masking its own error.
        with contextlib.suppress(AssertionError):
            probe.finish()


@pytest.fixture(scope="session")
def kube_router_binary() -> Path:
    """The kube-router binary of the local probe node (built and ipset/iptables installed when missing);
    skips where this machine cannot host a probe node (not root, no br_netfilter), naming what is missing."""
    from tenantprobe.kube.local.enforcer import ensure_kube_router
    from tenantprobe.kube.network.probenode import local_probing_unavailable

    reason = local_probing_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        return ensure_kube_router()
    except TenantProbeError as exc:
        raise pytest.UsageError(str(exc)) from None
