"""Secrets never survive redaction."""

from __future__ import annotations

from tenantprobe.redact import redact_dsn, redact_headers, redact_text

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def test_jwt_is_removed_from_text() -> None:
    assert JWT not in redact_text(f"token {JWT} used")


def test_dsn_password_is_removed_but_host_kept() -> None:
    assert redact_dsn("postgresql://app:s3cr%40t@db:5432/pake") == "postgresql://app:[REDACTED]@db:5432/pake"
    assert "s3cr" not in redact_text("connect postgresql://app:s3cr3t@db/pake failed")


def test_private_key_and_password_pairs_are_removed() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY-----"
    text = redact_text(f"{pem} password=hunter2 secret: xyz")
    assert "MIIabc" not in text
    assert "hunter2" not in text
    assert "xyz" not in text


def test_authorization_header_keeps_only_its_scheme() -> None:
    headers = redact_headers({"Authorization": f"Bearer {JWT}", "Accept": "application/json"})
    assert headers == {"Authorization": "Bearer [REDACTED]", "Accept": "application/json"}
