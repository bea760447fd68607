"""A real, local Kubernetes control plane for tests: etcd, kube-apiserver and
kube-controller-manager as plain processes on loopback, no container engine.

The binaries come from ``build.sh`` beside this module (pinned, built from the Go module
proxy, cached outside the repo; ``k8s/local/README.md`` tells the details).
Everything else (CA, certificates, service-account key, kubeconfigs, etcd data)
is generated in a temporary work directory that :meth:`LocalControlPlane.stop`
removes.

Usage::

    cp = LocalControlPlane()
    cp.start()                       # builds on first use, then ~seconds
    cp.kubeconfig                    # admin kubeconfig (O=system:masters)
    cp.client_kubeconfig("alice", ["tenant-a-admins"])   # one identity, one kubeconfig
    cp.stop()

or ``with LocalControlPlane() as cp: ...``, or from a shell::

    python -m tenantprobe.kube.local.controlplane      # prints the kubeconfig; Ctrl-C stops

Only the standard library and ``cryptography`` are used. It lives in the package, not in
``k8s/``, because the suites start it for a user who gives no cluster, and the core never
imports from ``k8s/``.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tenantprobe.child import Child, NotReady, free_port, wait_ready
from tenantprobe.errors import TargetError
from tenantprobe.kube.local.pki import CertificateAuthority, KeyPair, key_pem, new_key
from tenantprobe.lifecycle import Service

__all__ = ["BUILD_SCRIPT", "ControlPlaneError", "LocalControlPlane", "binaries_current", "ensure_binaries"]

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build.sh"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")

# Canonical names since Kubernetes 1.30 (the short names before that are aliases).
DEFAULT_CONTROLLERS = (
    "resourcequota-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "garbage-collector-controller",
    # Fills the rules of the aggregated ClusterRoles admin/edit/view, which
    # tenant RoleBindings commonly reference.
    "clusterrole-aggregation-controller",
    # Publishes kube-root-ca.crt into every namespace, as a real cluster does.
    "root-ca-certificate-publisher-controller",
)
ADMISSION_PLUGINS = (
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "ResourceQuota",
    "PodSecurity",
)


class ControlPlaneError(TargetError):
    """The local control plane could not be built or started; the message says which part and why."""


# --------------------------------------------------------------------------- binaries


def binaries_current() -> bool:
    """Whether ``build.sh`` has current binaries in its cache (or ``$TENANTPROBE_K8S_BIN`` is set)."""
    if os.environ.get("TENANTPROBE_K8S_BIN"):
        return True
    return subprocess.run(["bash", str(BUILD_SCRIPT), "--check"], check=False).returncode == 0


def ensure_binaries(bin_dir: str | os.PathLike[str] | None = None, *, build: bool = True) -> Path:
    """Return the directory holding etcd, kube-apiserver and kube-controller-manager.

    Order: the ``bin_dir`` argument, then ``$TENANTPROBE_K8S_BIN``, then the
    cache of ``build.sh`` (which is run when ``build`` is true; it returns in
    well under a second when the cache is current and builds otherwise).
    """
    chosen = bin_dir if bin_dir is not None else os.environ.get("TENANTPROBE_K8S_BIN")
    if chosen:
        path = Path(chosen)
    else:
        args = ["bash", str(BUILD_SCRIPT)] + ([] if build else ["--bin-dir"])
        # Progress goes to our stderr; stdout is the bin dir.
        proc = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            raise ControlPlaneError(
                f"{BUILD_SCRIPT} failed with exit code {proc.returncode} (its messages are above). It needs Go "
                "(the version k8s.io/kubernetes asks for) and the Go module proxy. Or point at a cluster instead: "
                "--kubeconfig / KUBECONFIG, or at prebuilt binaries: TENANTPROBE_K8S_BIN."
            )
        path = Path(proc.stdout.strip().splitlines()[-1])
    missing = [b for b in BINARIES if not os.access(path / b, os.X_OK)]
    if missing:
        raise ControlPlaneError(f"missing {', '.join(missing)} in {path}; run {BUILD_SCRIPT} first")
    return path


# --------------------------------------------------------------------------- helpers


def _write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "user"


# --------------------------------------------------------------------------- control plane


class LocalControlPlane(Service["LocalControlPlane"]):
    """etcd + kube-apiserver + kube-controller-manager on 127.0.0.1.

    Args:
        bin_dir: where the binaries are; default: ``$TENANTPROBE_K8S_BIN`` or
            the build.sh cache (built on first use when ``build`` is true).
        workdir: where certs, kubeconfigs, logs and etcd data go; default a new
            temporary directory, removed by :meth:`stop` unless ``keep_workdir``.
        controllers: the kube-controller-manager controllers to run.
        service_cluster_ip_range: ClusterIP allocation range (no traffic is
            ever sent there; there is no kube-proxy).

    Its processes get SIGKILL if the thread that started them dies (see :mod:`tenantprobe.child`),
    so a killed test run leaves no orphans: start it from a long-lived thread (e.g. the main thread).
    """

    def __init__(
        self,
        *,
        bin_dir: str | os.PathLike[str] | None = None,
        workdir: str | os.PathLike[str] | None = None,
        build: bool = True,
        controllers: Sequence[str] = DEFAULT_CONTROLLERS,
        service_cluster_ip_range: str = "10.96.0.0/16",
        keep_workdir: bool = False,
        verbosity: int = 1,
    ) -> None:
        self._bin_dir_arg = bin_dir
        self._build = build
        self._workdir_arg = Path(workdir) if workdir is not None else None
        self.controllers = tuple(controllers)
        self.service_cluster_ip_range = service_cluster_ip_range
        self.keep_workdir = keep_workdir
        self.verbosity = verbosity

        self.workdir: Path | None = None
        self.bin_dir: Path | None = None
        self.etcd_url = ""
        self.apiserver_port = 0
        self.controller_manager_port = 0
        self._ca: CertificateAuthority | None = None
        self._admin_pair: KeyPair | None = None
        self._kcm_pair: KeyPair | None = None
        self._procs: list[Child] = []
        self._admin_kubeconfig: Path | None = None
        self._user_kubeconfigs: dict[tuple[str, tuple[str, ...]], Path] = {}
        #: seconds from start() to a ready apiserver (/readyz ok) and to all ready
        self.apiserver_ready_seconds: float | None = None
        self.start_seconds: float | None = None

    # ---------------------------------------------------------------- public API

    @property
    def server(self) -> str:
        """The apiserver URL, e.g. ``https://127.0.0.1:40123``."""
        if not self.apiserver_port:
            raise ControlPlaneError("control plane not started")
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def kubeconfig(self) -> Path:
        """Path of the admin kubeconfig (user ``tenantprobe-admin``, group system:masters)."""
        if self._admin_kubeconfig is None:
            raise ControlPlaneError("control plane not started")
        return self._admin_kubeconfig

    @property
    def ca_file(self) -> Path:
        return self._dir / "pki" / "ca.crt"

    @property
    def kubelet_client_ca(self) -> Path:
        """The CA of the certificate the apiserver presents to kubelets (a node agent trusts it alone)."""
        return self._dir / "pki" / "kubelet-client-ca.crt"

    @property
    def running(self) -> bool:
        return bool(self._procs) and all(p.running for p in self._procs)

    def client_kubeconfig(
        self,
        user: str,
        groups: Sequence[str] = (),
        *,
        namespace: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> Path:
        """Issue a client certificate for ``user`` (CN) in ``groups`` (O) and write a
        kubeconfig for that identity alone. Returns its path; repeated calls with the
        same identity (and no explicit ``path``) return the same file."""
        if self._ca is None or not self.apiserver_port:
            raise ControlPlaneError("control plane not started")
        key = (user, tuple(groups))
        if path is None and namespace is None and key in self._user_kubeconfigs:
            return self._user_kubeconfigs[key]
        pair = self._ca.issue(user, organizations=groups, client=True)
        if path is None:
            suffix = f"{len(self._user_kubeconfigs)}-{_safe_filename(user)}"
            target = self._dir / "users" / f"{suffix}.kubeconfig"
        else:
            target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._write_kubeconfig(target, user, pair, namespace=namespace)
        if path is None and namespace is None:
            self._user_kubeconfigs[key] = target
        return target

    def start(self, timeout: float = 90.0) -> LocalControlPlane:
        """Start etcd, kube-apiserver and kube-controller-manager; return when the
        apiserver's /readyz and the controller manager's /healthz answer ok."""
        if self._procs:
            raise ControlPlaneError("already started")
        self.bin_dir = ensure_binaries(self._bin_dir_arg, build=self._build)
        t0 = time.monotonic()
        deadline = t0 + timeout
        if self._workdir_arg is not None:
            self._workdir_arg.mkdir(parents=True, exist_ok=True)
            self.workdir = self._workdir_arg
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="tenantprobe-k8s-"))
        atexit.register(self.stop)
        try:
            self._make_pki()
            self._start_etcd()
            self._start_apiserver()
            self._wait_https("kube-apiserver", f"{self.server}/readyz", deadline, client_cert=True)
            self.apiserver_ready_seconds = time.monotonic() - t0
            self._admin_kubeconfig = self._dir / "admin.kubeconfig"
            assert self._admin_pair is not None
            self._write_kubeconfig(self._admin_kubeconfig, "tenantprobe-admin", self._admin_pair)
            self._start_controller_manager()
            self._wait_https(
                "kube-controller-manager",
                f"https://127.0.0.1:{self.controller_manager_port}/healthz",
                deadline,
                client_cert=False,
            )
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate all processes (whole process groups) and remove the work dir.

        One at a time, in reverse start order (controller manager, apiserver,
        etcd): SIGTERM, then SIGKILL after ``timeout`` seconds. Stopping etcd
        first would leave the apiserver hanging in its shutdown."""
        procs, self._procs = self._procs, []
        for proc in reversed(procs):
            proc.stop(timeout)
        atexit.unregister(self.stop)
        if self.workdir is not None and self._workdir_arg is None and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.apiserver_port = 0
        self._admin_kubeconfig = None
        self._user_kubeconfigs.clear()

    # ---------------------------------------------------------------- internals

    @property
    def _dir(self) -> Path:
        if self.workdir is None:
            raise ControlPlaneError("control plane not started")
        return self.workdir

    def _make_pki(self) -> None:
        pki = self._dir / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        self._ca = ca = CertificateAuthority()
        _write(pki / "ca.crt", ca.cert_pem, 0o644)
        serving = ca.issue(
            "kube-apiserver",
            server_names=[
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ],
            server_ips=["127.0.0.1", "::1"],
            server=True,
        )
        _write(pki / "apiserver.crt", serving.cert_pem, 0o644)
        _write(pki / "apiserver.key", serving.key_pem)
        sa_key = new_key()
        _write(pki / "sa.key", key_pem(sa_key))
        _write(
            pki / "sa.pub",
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            0o644,
        )
        admin = ca.issue("tenantprobe-admin", organizations=["system:masters"], client=True)
        _write(pki / "admin.crt", admin.cert_pem)
        _write(pki / "admin.key", admin.key_pem)
        self._admin_pair = admin
        self._kcm_pair = ca.issue("system:kube-controller-manager", client=True)
        # How the apiserver authenticates to kubelets (here: a node agent's exec endpoint). Its own CA,
        # so that the endpoint trusts the apiserver alone, not every user of the cluster CA.
        kubelet_ca = CertificateAuthority("tenantprobe-kubelet-client-ca")
        _write(pki / "kubelet-client-ca.crt", kubelet_ca.cert_pem, 0o644)
        kubelet_client = kubelet_ca.issue("kube-apiserver-kubelet-client", client=True)
        _write(pki / "apiserver-kubelet-client.crt", kubelet_client.cert_pem)
        _write(pki / "apiserver-kubelet-client.key", kubelet_client.key_pem)
        # Front proxy (request-header authentication), as kubeadm sets it up: a
        # separate CA; the apiserver publishes it in kube-system/
        # extension-apiserver-authentication, where delegated authentication
        # (the controller manager's secure port, aggregated APIs) looks for it.
        front_ca = CertificateAuthority("tenantprobe-front-proxy-ca")
        _write(pki / "front-proxy-ca.crt", front_ca.cert_pem, 0o644)
        front_client = front_ca.issue("front-proxy-client", client=True)
        _write(pki / "front-proxy-client.crt", front_client.cert_pem)
        _write(pki / "front-proxy-client.key", front_client.key_pem)

    def _write_kubeconfig(self, path: Path, user: str, pair: KeyPair, namespace: str | None = None) -> None:
        context: dict[str, str] = {"cluster": "tenantprobe-local", "user": user}
        if namespace:
            context["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "tenantprobe-local",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": _b64(self._ca_pem),
                    },
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate-data": _b64(pair.cert_pem),
                        "client-key-data": _b64(pair.key_pem),
                    },
                }
            ],
            "contexts": [{"name": "tenantprobe-local", "context": context}],
            "current-context": "tenantprobe-local",
        }
        # JSON is valid YAML; every kubeconfig loader reads it.
        _write(path, (json.dumps(config, indent=2) + "\n").encode())

    @property
    def _ca_pem(self) -> bytes:
        if self._ca is None:
            raise ControlPlaneError("control plane not started")
        return self._ca.cert_pem

    def _spawn(self, name: str, args: list[str]) -> None:
        proc = Child(name, args, self._dir / "logs" / f"{name}.log", cwd=self._dir, error=ControlPlaneError)
        self._procs.append(proc.start())

    def _bin(self, name: str) -> str:
        assert self.bin_dir is not None
        return str(self.bin_dir / name)

    def _start_etcd(self) -> None:
        client_port, peer_port = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        data = self._dir / "etcd"
        data.mkdir(mode=0o700, exist_ok=True)
        self._spawn(
            "etcd",
            [
                self._bin("etcd"),
                "--name=tenantprobe",
                f"--data-dir={data}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=tenantprobe={peer_url}",
                "--initial-cluster-state=new",
                "--unsafe-no-fsync=true",  # throw-away test data: skip fsync
                "--log-level=warn",
            ],
        )

    def _start_apiserver(self) -> None:
        self.apiserver_port = free_port()
        pki = self._dir / "pki"
        self._spawn(
            "kube-apiserver",
            [
                self._bin("kube-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.apiserver_port}",
                f"--cert-dir={pki}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--authorization-mode=Node,RBAC",
                f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-cluster-ip-range={self.service_cluster_ip_range}",
                # Like a real cluster: privileged pods are stopped by Pod Security
                # admission, not by a blanket apiserver switch.
                "--allow-privileged=true",
                # No kubelets/nodes: do not publish 127.0.0.1 as the kubernetes
                # service endpoint.
                "--endpoint-reconciler-type=none",
                f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
                f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",  # kubeadm's order
                "--profiling=false",
                f"--v={self.verbosity}",
            ],
        )

    def _start_controller_manager(self) -> None:
        self.controller_manager_port = free_port()
        pki = self._dir / "pki"
        kubeconfig = self._dir / "kube-controller-manager.kubeconfig"
        assert self._kcm_pair is not None
        self._write_kubeconfig(kubeconfig, "system:kube-controller-manager", self._kcm_pair)
        kcm_certs = self._dir / "kcm-serving"
        kcm_certs.mkdir(exist_ok=True)
        self._spawn(
            "kube-controller-manager",
            [
                self._bin("kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.controller_manager_port}",
                f"--cert-dir={kcm_certs}",
                f"--controllers={','.join(self.controllers)}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                "--use-service-account-credentials=true",
                "--leader-elect=false",
                f"--service-cluster-ip-range={self.service_cluster_ip_range}",
                "--profiling=false",
                f"--v={self.verbosity}",
            ],
        )

    def _ssl_context(self, client_cert: bool) -> ssl.SSLContext:
        if client_cert:
            ctx = ssl.create_default_context(cafile=str(self.ca_file))
            pki = self._dir / "pki"
            ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        else:  # the controller manager serves a self-signed cert
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _check_alive(self) -> None:
        for proc in self._procs:
            if (code := proc.returncode) is not None:
                raise proc.failure(f"{proc.name} exited with code {code}")

    def _wait_https(self, name: str, url: str, deadline: float, *, client_cert: bool) -> None:
        ctx = self._ssl_context(client_cert)

        def ready() -> bool:
            try:
                with urllib.request.urlopen(url, context=ctx, timeout=2) as resp:  # noqa: S310 (https)
                    body = resp.read().decode(errors="replace")
            except urllib.error.HTTPError as e:
                raise NotReady(f"HTTP {e.code}: {e.read().decode(errors='replace')[-500:]}") from None
            except (urllib.error.URLError, OSError) as e:
                raise NotReady(str(e)) from None
            if resp.status == 200 and body.strip() == "ok":
                return True
            raise NotReady(f"HTTP {resp.status}: {body[:200]}")

        wait_ready(self._procs, ready, deadline - time.monotonic(), what=f"{name} at {url}", interval=0.1)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Start a local Kubernetes control plane.")
    parser.add_argument("--workdir", help="keep certs/logs/data here (default: temp dir)")
    parser.add_argument("--bin-dir", help="binaries (default: build.sh cache)")
    parser.add_argument("--no-build", action="store_true", help="fail instead of building")
    ns = parser.parse_args(argv)

    cp = LocalControlPlane(bin_dir=ns.bin_dir, workdir=ns.workdir, build=not ns.no_build)
    stop_now = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stop_now
        stop_now = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    cp.start()
    print(
        f"apiserver {cp.server} ready in {cp.apiserver_ready_seconds:.2f} s, all ready in {cp.start_seconds:.2f} s",
        file=sys.stderr,
    )
    print(f"export KUBECONFIG={cp.kubeconfig}", flush=True)
    print("Ctrl-C stops.", file=sys.stderr)
    try:
        while not stop_now:
            if not cp.running:
                cp._check_alive()
            time.sleep(0.5)
    finally:
        cp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
