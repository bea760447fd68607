"""Tokens changed after signing (pure logic): one claim differs, the header and the signature are the originals."""

from __future__ import annotations

import jwt
import pytest

from tenantprobe.credentials import UNSET, claim_holding, tamper, unverified_claims

SECRET = "k" * 32


def test_tamper_changes_one_claim_and_keeps_header_and_signature() -> None:
    token = jwt.encode({"sub": "a", "org": "acme", "exp": 2_000_000_000}, SECRET, algorithm="HS256")
    forged = tamper(token, {"org": "globex", "exp": UNSET})
    assert forged is not None
    assert forged.split(".")[0] == token.split(".")[0]
    assert forged.split(".")[2] == token.split(".")[2]
    assert unverified_claims(forged) == {"sub": "a", "org": "globex"}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, SECRET, algorithms=["HS256"])


def test_opaque_tokens_cannot_be_tampered_with() -> None:
    assert tamper("tsk_0123456789abcdef", {"org": "x"}) is None
    assert unverified_claims("a.b.c") is None


def test_the_tenant_claim_is_found_by_its_value() -> None:
    claims = {"sub": "u1", "https://example.com/org": "acme", "tid": "0b6f"}
    assert claim_holding(claims, {"id": "0b6f", "slug": "acme"}) == ("https://example.com/org", "slug")
    assert claim_holding(claims, {"id": "", "slug": "other"}) is None
