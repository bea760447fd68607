"""The cluster a run uses: one the user names with a kubeconfig, or a local control plane.

A cluster hands out one client per identity, each with its own configuration. On the local
control plane an identity is a real client certificate (user = CN, group = O); on a cluster
the user names, tenantprobe cannot issue certificates, so the admin kubeconfig impersonates
the identity (the apiserver authorizes an impersonated request exactly as the user's own).
A workload's service account gets a real token from the TokenRequest API on both.

Example::

    with Cluster.local() as cluster:
        acme = cluster.identity("admin@acme", "tenant:acme:admins")
        acme.review(Access("list", "secrets", namespace="tenant-globex")).allowed  # False
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tenantprobe.errors import ProfileError, TargetError
from tenantprobe.kube.client.api import Identity, KubeClient
from tenantprobe.kube.local.controlplane import LocalControlPlane

if TYPE_CHECKING:
    from tenantprobe.profiles import TargetProfile


def find_kubeconfig(option: str | None, profile_kubeconfig: str | None, *, default_file: bool) -> Path | None:
    """The kubeconfig to use: the option, the profile's ``kubernetes.kubeconfig``, ``$KUBECONFIG``,
    and (only when ``default_file``) ``~/.kube/config``. None when there is none."""
    for candidate in (option, profile_kubeconfig, os.environ.get("KUBECONFIG")):
        if candidate:
            first = candidate.split(os.pathsep)[0]  # kubectl merges a list; the first file is used here
            path = Path(first).expanduser()
            if not path.is_file():
                raise ProfileError(f"kubeconfig {path}: no such file (from {candidate!r})")
            return path
    fallback = Path("~/.kube/config").expanduser()
    return fallback if default_file and fallback.is_file() else None


def profile_kubeconfig(profile: TargetProfile | None) -> str | None:
    """The profile's ``kubernetes.kubeconfig``, relative to the profile file."""
    if profile is None or not profile.kubernetes.get("kubeconfig"):
        return None
    path = Path(profile.kubernetes["kubeconfig"]).expanduser()
    if not path.is_absolute() and profile.source is not None:
        path = profile.source.parent / path
    return str(path)


@dataclass
class Cluster:
    admin: KubeClient
    kubeconfig: Path
    control_plane: LocalControlPlane | None = None
    _identities: dict[tuple[str, str | None], KubeClient] = field(default_factory=dict)
    _version: str | None = None

    @classmethod
    def connect(cls, kubeconfig: Path) -> Cluster:
        """The cluster of a kubeconfig's current context; its user must be allowed to impersonate."""
        admin = KubeClient.from_kubeconfig(kubeconfig, user="kubeconfig admin")
        cluster = cls(admin, kubeconfig)
        _ = cluster.version  # fail now, with the server's address, if it cannot be reached
        return cluster

    @classmethod
    def local(cls) -> Cluster:
        """Start a local control plane (built on first use) and connect to it as its admin."""
        control_plane = LocalControlPlane().start()
        try:
            admin = KubeClient.from_kubeconfig(control_plane.kubeconfig, user="tenantprobe-admin")
        except BaseException:
            control_plane.stop()
            raise
        return cls(admin, control_plane.kubeconfig, control_plane)

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = self.admin.version()
        return self._version

    def identity(self, user: str, group: str) -> KubeClient:
        """A client acting as ``user`` in ``group``, created once per identity."""
        key = (user, group)
        if key not in self._identities:
            if self.control_plane is not None:
                path = self.control_plane.client_kubeconfig(user, [group])
                client = KubeClient.from_kubeconfig(path, user=user)
                client.identity = Identity(user, (group,))
            else:
                client = self.admin.impersonating(user, group)
            self._identities[key] = client
        return self._identities[key]

    def service_account(self, namespace: str, name: str, expiration_seconds: int = 3600) -> KubeClient:
        """A client with a fresh token of a service account (TokenRequest), created once per account."""
        user = f"system:serviceaccount:{namespace}:{name}"
        key = (user, None)
        if key not in self._identities:
            response = self.admin.request(
                "POST",
                f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                body={
                    "apiVersion": "authentication.k8s.io/v1",
                    "kind": "TokenRequest",
                    "spec": {"expirationSeconds": expiration_seconds},
                },
            )
            if not response.ok:
                raise TargetError(f"TokenRequest for {user} answered {response.status}: {response.message}")
            identity = Identity(user, ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"))
            self._identities[key] = self.admin.with_token(response.body["status"]["token"], identity)
        return self._identities[key]

    def describe(self) -> dict[str, Any]:
        """The cluster's identity for result records."""
        return {
            "server": self.admin.server,
            "kubernetes_version": self.version,
            "local_control_plane": self.control_plane is not None,
        }

    def close(self) -> None:
        for client in self._identities.values():
            client.close()
        self._identities.clear()
        self.admin.close()
        if self.control_plane is not None:
            self.control_plane.stop()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
