"""Secrets never survive redaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tenantprobe.probe import BODY_EVIDENCE_CHARS, Actor, Exchange
from tenantprobe.records import ResultRecord, ResultWriter, Status
from tenantprobe.redact import redact_body, redact_dsn, redact_headers, redact_text, redact_url, redact_value

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


CANARY = "tpcanary0a1b2cx0123456789"
KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" * 20


def test_a_private_key_cut_before_its_end_line_is_redacted_to_the_end() -> None:
    text = f"config:\n-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}"
    assert redact_text(text) == "config:\n[REDACTED PRIVATE KEY]"
    # Inside a JSON string (newlines escaped), the redaction stops at the closing quote.
    line = json.dumps({"body": f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}", "next": "kept"})
    redacted = json.loads(redact_text(line))
    assert redacted == {"body": "[REDACTED PRIVATE KEY]", "next": "kept"}


@pytest.mark.parametrize(
    "name",
    ["password", "passwd", "pass", "secret", "client_secret", "token", "access_token", "refresh_token", "id_token",
     "api_key", "apikey", "api-key", "private_key", "authorization", "cookie", "session", "Password", "DB_PASSWORD",
     "csrf_token"],
)  # fmt: skip
def test_json_secret_fields_are_redacted_by_name_keeping_the_key(name: str) -> None:
    body = {"user": {"email": "a@example.com", "settings": [{name: "hunter2-is-secret"}]}, "title": "kept"}
    as_text = redact_text(json.dumps(body))
    as_json = redact_body(json.dumps(body, indent=2))
    for redacted in (as_text, as_json):
        assert "hunter2" not in redacted
        assert json.loads(redacted)["user"]["settings"] == [{name: "[REDACTED]"}]
        assert "a@example.com" in redacted
    assert redact_value(body)["user"]["settings"] == [{name: "[REDACTED]"}]


def test_non_secret_fields_that_look_alike_are_kept() -> None:
    body = {"token_count": 3, "passenger": "Ann", "bypass": "no", "status": "pass", "session_length_s": 30}
    assert redact_value(body) == body
    assert json.loads(redact_text(json.dumps(body))) == body


def test_secret_structures_and_numbers_are_redacted_whole() -> None:
    body = {"session": {"id": "s3cr3t", "user": 1}, "pin": 1, "credentials": ["k1", "k2"], "api_key": 12345678}
    redacted = redact_value(body)
    assert redacted["session"] == "[REDACTED]"
    assert redacted["credentials"] == "[REDACTED]"
    assert redacted["api_key"] == "[REDACTED]"
    assert "12345678" not in redact_text(json.dumps(body))


def test_bearer_tokens_and_known_token_formats_are_removed() -> None:
    opaque = "q8Xk2pL0vN3mR7sT1uW4yZ6aB9cD"
    text = redact_text(f"sent Bearer {opaque}; key sk_live_{opaque}; AKIAABCDEFGHIJKLMNOP; ghp_{opaque}xxxxxxxxxxxx")
    assert opaque not in text
    assert "AKIAABCDEFGHIJKLMNOP" not in text
    assert "Bearer [REDACTED]" in text


def test_query_strings_and_form_bodies_lose_their_secrets() -> None:
    url = redact_url("https://user:pw123456@api.example/v1/x?token=abc123&api_key=k-9&page=2")
    assert url == "https://user:[REDACTED]@api.example/v1/x?token=[REDACTED]&api_key=[REDACTED]&page=2"
    assert redact_text("password=hunter2&x=1&refresh_token=r1") == "password=[REDACTED]&x=1&refresh_token=[REDACTED]"


def test_canaries_survive_redaction_as_the_evidence_of_a_leak() -> None:
    body = {"token": f"leaked-{CANARY}", "title": f"note {CANARY}"}
    assert redact_value(body) == {"token": f"[REDACTED] {CANARY}", "title": f"note {CANARY}"}
    assert CANARY in redact_text(f"password={CANARY}")
    assert CANARY in redact_text(json.dumps(body))


def test_a_curl_line_keeps_its_token_variable() -> None:
    curl = 'curl -sS -H "Authorization: Bearer $TOKEN_ACME_OWNER" --data \'{"password": "hunter2"}\''
    assert redact_text(curl) == (
        'curl -sS -H "Authorization: Bearer $TOKEN_ACME_OWNER" --data \'{"password": "[REDACTED]"}\''
    )


def _exchange(request_body: Any, text: str, url: str = "http://app/v1/register?token=abc123") -> Exchange:
    return Exchange(
        actor=Actor("acme:owner", token=JWT),
        method="POST",
        url=url,
        request_headers={"Authorization": f"Bearer {JWT}"},
        request_body=request_body,
        status=200,
        response_headers={"set-cookie": "session=abcdef0123456789", "content-type": "application/json"},
        text=text,
        elapsed_ms=1.0,
    )


def test_evidence_redacts_request_body_url_and_response_before_cutting() -> None:
    key = "-----BEGIN PRIVATE KEY-----\n" + KEY_BODY * 3 + "\n-----END PRIVATE KEY-----"
    response = json.dumps({"id": 1, "note": "x" * (BODY_EVIDENCE_CHARS - 100) + key, "access_token": "opaque-t0k3n"})
    evidence = _exchange({"email": "a@example.com", "password": "hunter2"}, response).evidence()
    dumped = json.dumps(evidence)
    for secret in ("hunter2", "abc123", "opaque-t0k3n", "abcdef0123456789", JWT, KEY_BODY[:40]):
        assert secret not in dumped, secret
    assert evidence["request"]["body"] == {"email": "a@example.com", "password": "[REDACTED]"}
    assert evidence["request"]["url"] == "http://app/v1/register?token=[REDACTED]"
    assert len(evidence["response"]["body"]) <= BODY_EVIDENCE_CHARS
    assert "$TOKEN_ACME_OWNER" in evidence["curl"]


def test_a_record_written_to_disk_carries_no_secret_field(tmp_path: Path) -> None:
    writer = ResultWriter(tmp_path, "redact", run_id="run-1")
    evidence = [{"response": {"body": json.dumps({"client_secret": "cs-123456"})}, "token": "t-abcdef"}]
    writer.write(ResultRecord("API-LIST-FILTER", "check", Status.FAIL, evidence=evidence))
    line = writer.path.read_text()
    assert "cs-123456" not in line
    assert "t-abcdef" not in line
