"""RSA signing keys for the reference app's dev issuer, and their JWKS form.

The kid is the RFC 7638 JWK thumbprint, so it is derived from the key itself: two processes loading
the same PEM agree on it, and a rotated key can never reuse an old kid.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MIN_RSA_BITS = 2048
SIGNING_ALG = "RS256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    # RFC 7518 §6.3.1: big-endian, minimal length (at least one octet).
    return _b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an RSA JWK: a key id that any party can recompute from the key."""
    # Only the required members, in lexicographic order, without whitespace (RFC 7638 §3.2).
    canonical = json.dumps({"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def generate_private_key_pem() -> bytes:
    """A fresh RSA 2048 key as unencrypted PKCS8 PEM, for dev setups and tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


class SigningKey:
    """An RSA private key with its thumbprint kid; the verifier trusts its public half."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        if private_key.key_size < MIN_RSA_BITS:
            raise ValueError(
                f"RSA key of {private_key.key_size} bits is too short: RS256 keys need at least "
                f"{MIN_RSA_BITS} bits; generate one with generate_private_key_pem()"
            )
        self.private_key = private_key
        self.public_key = private_key.public_key()
        numbers = self.public_key.public_numbers()
        self._n = _b64url_uint(numbers.n)
        self._e = _b64url_uint(numbers.e)
        self.kid = jwk_thumbprint({"kty": "RSA", "n": self._n, "e": self._e})

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        """Load an unencrypted PEM private key; anything but RSA is refused."""
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"expected an RSA private key PEM, got a {type(key).__name__}")
        return cls(key)

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK, ready to publish."""
        return {"kty": "RSA", "n": self._n, "e": self._e, "kid": self.kid, "use": "sig", "alg": SIGNING_ALG}

    def public_pem(self) -> bytes:
        """The public key as SubjectPublicKeyInfo PEM, for consumers that do not read JWKs."""
        return self.public_key.public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        )

    def jwks(self) -> dict[str, Any]:
        """The document served at `/.well-known/jwks.json`."""
        return {"keys": [self.public_jwk()]}

    def __repr__(self) -> str:
        # Never let a repr (logs, tracebacks) carry key material.
        return f"SigningKey(kid={self.kid!r})"
