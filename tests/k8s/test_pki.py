"""The local cluster's certificates: a real TLS handshake accepts what the CA issued, and only that."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tenantprobe.kube.local.pki import CertificateAuthority, KeyPair


def _files(tmp_path: Path, name: str, pair: KeyPair) -> tuple[str, str]:
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert.write_bytes(pair.cert_pem)
    key.write_bytes(pair.key_pem)
    return str(cert), str(key)


def _handshake(tmp_path: Path, ca: CertificateAuthority, server: KeyPair, client: KeyPair) -> str:
    """A TLS server on 127.0.0.1 that requires a client certificate of ``ca``; the client's CN as it saw it."""
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca.crt"))
    serving.verify_mode = ssl.CERT_REQUIRED
    serving.load_cert_chain(*_files(tmp_path, "server", server))
    calling = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    calling.load_cert_chain(*_files(tmp_path, "client", client))
    seen: list[str] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def accept() -> None:
            connection, _ = listener.accept()
            try:
                with serving.wrap_socket(connection, server_side=True) as tls:
                    peer = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True) or b"")
                    seen.extend(str(a.value) for a in peer.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=accept)
        thread.start()
        try:
            with (
                socket.create_connection(listener.getsockname()) as raw,
                calling.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                tls.recv(2)
        finally:
            thread.join(10)
    return seen[0] if seen else ""


def test_a_server_and_a_client_of_one_ca_complete_a_verified_handshake(tmp_path: Path) -> None:
    ca = CertificateAuthority()
    server = ca.issue("kube-apiserver", server_ips=["127.0.0.1"], server_names=["localhost"], server=True)
    client = ca.issue("alice", organizations=["tenant-a-admins", "viewers"], client=True)
    assert _handshake(tmp_path, ca, server, client) == "alice"


def test_a_client_of_another_ca_is_refused(tmp_path: Path) -> None:
    ca = CertificateAuthority()
    server = ca.issue("kube-apiserver", server_ips=["127.0.0.1"], server=True)
    stranger = CertificateAuthority("another-ca").issue("alice", client=True)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _handshake(tmp_path, ca, server, stranger)


def test_a_client_certificate_names_the_user_and_every_group_and_serves_no_server() -> None:
    pair = CertificateAuthority().issue("alice", organizations=["tenant-a-admins", "viewers"], client=True)
    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["alice"]
    groups = {a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)}
    assert groups == {"tenant-a-admins", "viewers"}
    usages = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert usages == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
