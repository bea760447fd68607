"""Throw-away certificate authorities for a local cluster: the apiserver's, the kubelet client's, the front proxy's.

Every certificate (a CA's own and the ones it issues) comes from one builder, :func:`_certificate`:
ECDSA P-256 keys, SHA-256, valid from five minutes ago for seven days. Client certificates carry the
user in CN and its groups in O, as Kubernetes reads them; trustme would give one O only.

Example::

    ca = CertificateAuthority("tenantprobe-local-ca")
    alice = ca.issue("alice", organizations=["tenant-a-admins"], client=True)
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = _dt.timedelta(days=7)
CLOCK_SKEW = _dt.timedelta(minutes=5)


@dataclass(frozen=True)
class KeyPair:
    cert_pem: bytes
    key_pem: bytes


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    now = _dt.datetime.now(_dt.UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class CertificateAuthority:
    """A throw-away certificate authority for one control plane."""

    def __init__(self, common_name: str = "tenantprobe-local-ca") -> None:
        self._key = new_key()
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        public = self._key.public_key()
        extensions = [x509.SubjectKeyIdentifier.from_public_key(public)]
        self.cert = _certificate(self._name, public, self._name, self._key, ca=True, extensions=extensions)
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        common_name: str,
        *,
        organizations: Sequence[str] = (),
        server_names: Sequence[str] = (),
        server_ips: Sequence[str] = (),
        client: bool = False,
        server: bool = False,
    ) -> KeyPair:
        key = new_key()
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usages = ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else []) + (
            [ExtendedKeyUsageOID.SERVER_AUTH] if server else []
        )
        extensions: list[x509.ExtensionType] = [
            x509.ExtendedKeyUsage(usages),
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
        ]
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in server_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
        if sans:
            extensions.append(x509.SubjectAlternativeName(sans))
        cert = _certificate(x509.Name(attrs), key.public_key(), self._name, self._key, ca=False, extensions=extensions)
        return KeyPair(cert.public_bytes(serialization.Encoding.PEM), key_pem(key))
