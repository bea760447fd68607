"""``pods/exec`` through a real kube-apiserver into a probe pod of the node agent, as on any cluster.

The apiserver proxies the websocket to the node agent's kubelet endpoint, which must run the
probe client in the pod's network namespace, refuse anything else, and refuse callers without
the apiserver's client certificate.
"""

from __future__ import annotations

import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantprobe.kube.client.api import KubeClient, _exit_status
from tenantprobe.kube.client.cluster import Cluster
from tenantprobe.kube.local.nodeagent import NodeAgent
from tenantprobe.kube.local.pki import CertificateAuthority, KeyPair
from tenantprobe.kube.network.pods import netprobe_command, netprobe_config_map, probe_pod
from tenantprobe.kube.network.probenode import local_probing_unavailable


@pytest.fixture(scope="module")
def agent(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeAgent]:
    reason = local_probing_unavailable()
    if reason:
        pytest.skip(reason)
    if kube_cluster.control_plane is None:
        pytest.skip("a node agent registers a Node: only on the local control plane")
    workdir, name = tmp_path_factory.mktemp("agent"), f"exec-{uuid.uuid4().hex[:6]}"
    node = NodeAgent(kube_cluster.admin, name, workdir, kube_cluster.control_plane.kubelet_client_ca).start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def pod(admin: KubeClient, agent: NodeAgent) -> tuple[str, str, str]:
    """(namespace, name, podIP) of a Running probe pod on the agent's node."""
    namespace = f"exec-{uuid.uuid4().hex[:6]}"
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    admin.apply(netprobe_config_map(namespace))
    admin.apply(probe_pod("probe", namespace, {"app": "probe"}, [(8080, "TCP")], agent.node_name))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = admin.get(f"/api/v1/namespaces/{namespace}/pods/probe").body.get("status", {})
        if status.get("phase") == "Running":
            return namespace, "probe", status["podIP"]
        time.sleep(0.2)
    pytest.fail(f"the probe pod never ran: {status}")


def test_the_probe_client_runs_inside_the_pod_network(admin: KubeClient, pod: tuple[str, str, str]) -> None:
    namespace, name, address = pod
    code, out, err = admin.exec(namespace, name, netprobe_command("connect", f"{address}:8080/TCP", f"{address}:9/TCP"))
    assert code == 0, err
    assert out.splitlines() == [
        f'{{"target": "{address}:8080/TCP", "result": "connected"}}',
        f'{{"target": "{address}:9/TCP", "result": "refused"}}',
    ], "the pod's own server answers at the pod's address; nothing listens on port 9"


def test_a_failing_command_reports_its_exit_code(admin: KubeClient, pod: tuple[str, str, str]) -> None:
    namespace, name, _ = pod
    code, _, err = admin.exec(namespace, name, netprobe_command("connect", "--timeout=soon", "10.0.0.1:1/TCP"))
    assert code == 2, "argparse's exit code for a bad command line, carried by the final Status"
    assert "invalid float value: 'soon'" in err


@pytest.mark.parametrize("command", [["sh", "-c", "id"], netprobe_command("serve", "--tcp=9")])
def test_any_other_command_is_refused(admin: KubeClient, pod: tuple[str, str, str], command: list[str]) -> None:
    namespace, name, _ = pod
    assert admin.exec(namespace, name, command) == (
        126,
        "",
        "this node agent runs only the probe client (netprobe.py connect)",
    )


def test_an_exec_the_apiserver_refuses_comes_back_as_126_with_the_reason(admin: KubeClient) -> None:
    code, out, err = admin.exec("default", "no-such-pod", netprobe_command("connect", "127.0.0.1:1/TCP"))
    assert (code, out) == (126, "")
    assert "no-such-pod" in err
    assert "404" in err


def _answer(agent: NodeAgent, certificate: KeyPair | None, workdir: Path) -> bytes:
    """What the exec endpoint answers a plain HTTP request over TLS with this client certificate."""
    assert agent.exec_server is not None
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    if certificate is not None:
        (workdir / "client.crt").write_bytes(certificate.cert_pem)
        (workdir / "client.key").write_bytes(certificate.key_pem)
        context.load_cert_chain(workdir / "client.crt", workdir / "client.key")
    with (
        socket.create_connection((agent.node_ip, agent.exec_server.port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        tls.sendall(b"GET /exec/x/y/z HTTP/1.1\r\nHost: agent\r\n\r\n")
        try:
            return tls.recv(200)
        except ssl.SSLError:  # the server's alert, when it arrives before the close
            return b""


def test_the_endpoint_refuses_callers_without_the_apiservers_client_certificate(
    agent: NodeAgent, kube_cluster: Cluster, tmp_path: Path
) -> None:
    assert kube_cluster.control_plane is not None
    pki = kube_cluster.control_plane.ca_file.parent
    cluster_admin = KeyPair((pki / "admin.crt").read_bytes(), (pki / "admin.key").read_bytes())
    stranger = CertificateAuthority("another-ca").issue("kube-apiserver-kubelet-client", client=True)
    apiserver = KeyPair(
        (pki / "apiserver-kubelet-client.crt").read_bytes(), (pki / "apiserver-kubelet-client.key").read_bytes()
    )
    assert _answer(agent, None, tmp_path) == b"", "no client certificate: the handshake is cut"
    assert _answer(agent, stranger, tmp_path) == b"", "a certificate of another CA: the same"
    assert _answer(agent, cluster_admin, tmp_path) == b"", "the cluster CA's users (even its admin) too"
    assert _answer(agent, apiserver, tmp_path).startswith(b"HTTP/1.1 "), "the apiserver's own certificate gets in"


def test_exit_status_reads_the_kubelet_status_frame() -> None:
    assert _exit_status('{"metadata": {}, "status": "Success"}') == (0, "")
    failure = '{"status": "Failure", "message": "m", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}'
    assert _exit_status(failure) == (3, "m")
    assert _exit_status('{"status": "Failure", "message": "no cause"}') == (126, "no cause")
    assert _exit_status("")[0] == 126
