"""Decoded views of response bodies for the canary oracle (pure logic), and the oracle seeing through them."""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
from pathlib import Path

from tenantprobe.canaries import CanaryRegistry
from tenantprobe.credentials import TenantRef
from tenantprobe.formats import decoded_views
from tenantprobe.probe import Actor, Exchange, Probe, ProbeClient
from tenantprobe.records import ResultWriter

CANARY = "tpcanaryabc123x0011223344"
CSV = f"id,title\n1,{CANARY} report\n".encode()


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_gzip_zip_and_base64_bodies_reveal_what_they_hide() -> None:
    assert any(CANARY in view for view in decoded_views(gzip.compress(CSV), "\x1f\x8b garbage"))
    assert any(CANARY in view for view in decoded_views(zipped("export.csv", CSV), "PK garbage"))
    field = json.dumps({"export": base64.b64encode(CSV).decode()})
    assert any(CANARY in view for view in decoded_views(field.encode(), field))
    nested = base64.urlsafe_b64encode(gzip.compress(CSV)).decode()  # one level deep only: no gunzip of base64
    assert not any(CANARY in view for view in decoded_views(nested.encode(), nested))


def test_plain_text_and_garbage_add_no_views() -> None:
    assert decoded_views(b'{"title": "plain"}', '{"title": "plain"}') == []
    assert decoded_views(b"\x1f\x8bnot really gzip", "x") == []
    assert decoded_views(b"PK\x03\x04not a zip", "x") == []


def test_canary_oracle_finds_a_foreign_canary_inside_a_gzip_export(tmp_path: Path) -> None:
    registry = CanaryRegistry()
    victim_canary = registry.issue("victim")
    registry.issue("attacker")
    probe = Probe("t", ProbeClient("http://127.0.0.1:9"), registry, ResultWriter(tmp_path, "unit"))
    attacker = Actor("attacker:owner", TenantRef("a", "attacker"), "owner", "t")
    body = gzip.compress(f"title\n{victim_canary}\n".encode())
    exported = Exchange(
        attacker, "GET", "http://t/export", {}, None, 200, {}, body.decode("latin-1"), 1.0, content=body
    )
    probe.scan(exported)
    assert [key[0] for key in probe.attempts] == ["API-CANARY-ORACLE"]
