"""What a response says once decoded: the canary oracle must see through gzip, zip and base64.

Exports and feeds hide their rows in a compressed file or a base64 field; a leak there is a
leak all the same. CSV and NDJSON are text and need no decoding. Each view is bounded, so a
large or hostile body cannot exhaust the harness.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import re
import zipfile
import zlib

MAX_DECODED_BYTES = 2_000_000
MAX_ZIP_MEMBERS = 50
# A base64 run long enough to hold a canary (padding optional, URL-safe alphabet too).
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")


def _text(data: bytes) -> str:
    return data[:MAX_DECODED_BYTES].decode("utf-8", errors="replace")


def _gunzip(content: bytes) -> bytes | None:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
            return stream.read(MAX_DECODED_BYTES)
    except (OSError, EOFError, zlib.error):
        return None


def _unzip(content: bytes) -> list[bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [info for info in archive.infolist()[:MAX_ZIP_MEMBERS] if not info.is_dir()]
            return [archive.open(info).read(MAX_DECODED_BYTES) for info in members]
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError):
        return []


def _base64_runs(text: str) -> list[str]:
    """Printable decodings of base64 runs in ``text`` (binary garbage is dropped)."""
    found = []
    for match in _BASE64.finditer(text[:MAX_DECODED_BYTES]):
        run = match.group(0)
        try:
            decoded = base64.b64decode(
                run + "=" * (-len(run) % 4), altchars=b"-_" if "-" in run or "_" in run else None
            )
        except (binascii.Error, ValueError):
            continue
        readable = decoded.decode("utf-8", errors="ignore")
        if readable and sum(char.isprintable() or char.isspace() for char in readable) >= 0.9 * len(readable):
            found.append(readable)
    return found


def decoded_views(content: bytes, text: str) -> list[str]:
    """Texts hidden in a body besides its own text: gzip and zip payloads, base64 runs (one level deep each)."""
    payloads: list[bytes] = []
    if content[:2] == b"\x1f\x8b":
        payloads += [data for data in [_gunzip(content)] if data is not None]
    elif content[:4] == b"PK\x03\x04":
        payloads += _unzip(content)
    inner = [_text(data) for data in payloads]
    return inner + [decoded for view in [text, *inner] for decoded in _base64_runs(view)]
