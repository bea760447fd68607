"""MkDocs hook: fills the generated parts of the site from the code, at build time.

A page holds a marker such as ``<!-- generated:api -->``; ``on_page_markdown`` replaces it:

- ``api``: the reference app's OpenAPI document, built with ``create_app(...).openapi()``
  and throw-away settings (no database and no network: ``openapi()`` never opens the pool);
- ``controls``: every control of ``tenantprobe/catalogue.yaml``;
- ``faults``: the seeded faults of ``reference_app.faults.REGISTRY``.

A marker whose generator fails stops the build: a page never ships with a stale copy.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "tenantprobe" / "catalogue.yaml"
METHODS = ("get", "post", "put", "patch", "delete")


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table of cells already escaped, and the blank line that ends it."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return [*lines, *("| " + " | ".join(row) + " |" for row in rows), ""]


@functools.cache
def openapi_document() -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from reference_app.config import Settings
    from reference_app.main import create_app

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with tempfile.TemporaryDirectory() as work:
        key_file = Path(work) / "docs-signing-key.pem"
        key_file.write_bytes(pem)
        dsn = "postgresql://docs@127.0.0.1:1/docs"  # never connected to
        settings = Settings(database_url=dsn, platform_database_url=dsn, jwt_private_key_file=key_file)
        return create_app(settings).openapi()


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return "`" + schema["$ref"].rsplit("/", 1)[-1] + "`"
    if schema.get("type") == "array" and "items" in schema:
        return "array of " + _schema_name(schema["items"])
    if "anyOf" in schema:
        return " or ".join(_schema_name(s) for s in schema["anyOf"])
    return "`" + str(schema.get("type", "object")) + "`"


def render_api() -> str:
    doc = openapi_document()
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                by_tag.setdefault((operation.get("tags") or ["other"])[0], []).append((method, path, operation))
    out = [f"Built from **{doc['info']['title']}** version {doc['info']['version']} (OpenAPI {doc['openapi']}).", ""]
    out += _table(
        ("operation", "summary", "auth"),
        (
            (
                f"`{method.upper()} {path}`",
                _cell(op.get("summary", "")),
                "bearer token" if op.get("security") else "none",
            )
            for operations in by_tag.values()
            for method, path, op in operations
        ),
    )
    for tag, operations in by_tag.items():
        out += [f"## {tag}", ""]
        for method, path, op in operations:
            out += [f"### `{method.upper()} {path}`", ""]
            out.append(
                f"Operation id `{op.get('operationId', '')}`. "
                + ("Requires a bearer token." if op.get("security") else "No authentication.")
            )
            out.append("")
            if op.get("description"):
                out += [op["description"].strip(), ""]
            params = op.get("parameters", [])
            if params:
                out += _table(
                    ("parameter", "in", "required", "type", "description"),
                    (
                        (
                            f"`{p['name']}`",
                            p["in"],
                            "yes" if p.get("required") else "no",
                            _schema_name(p.get("schema", {})),
                            _cell(p.get("description", "")),
                        )
                        for p in params
                    ),
                )
            body = op.get("requestBody")
            if body:
                for media, content in body.get("content", {}).items():
                    out += [f"Request body ({media}): {_schema_name(content.get('schema', {}))}", ""]
            out += _table(
                ("status", "meaning", "body"),
                (
                    (
                        status,
                        _cell(response.get("description", "")),
                        ", ".join(
                            f"{_schema_name(c.get('schema', {}))} ({m})" for m, c in response.get("content", {}).items()
                        ),
                    )
                    for status, response in op.get("responses", {}).items()
                ),
            )
    schemas = doc.get("components", {}).get("schemas", {})
    if schemas:
        out += ["## Schemas", ""]
        for name, schema in schemas.items():
            out += [f"### `{name}`", ""]
            if schema.get("description"):
                out += [_cell(schema["description"]), ""]
            props = schema.get("properties", {})
            if props:
                required = set(schema.get("required", []))
                out += _table(
                    ("field", "type", "required"),
                    (
                        (f"`{field}`", _schema_name(prop), "yes" if field in required else "no")
                        for field, prop in props.items()
                    ),
                )
    return "\n".join(out)


def render_controls() -> str:
    catalogue = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    metrics = catalogue.get("phase_metrics", {})
    controls = catalogue["controls"]
    out = [f"Catalogue version **{catalogue['version']}**, {len(controls)} controls.", ""]
    out += _table(
        ("id", "title", "layer", "severity", "phase metric"),
        (
            (
                f"[{c['id']}](#{c['id'].lower()})",
                _cell(c["title"]),
                c["layer"],
                c["severity"],
                _cell(metrics.get(c.get("phase_metric"), {}).get("title", c.get("phase_metric", ""))),
            )
            for c in controls
        ),
    )
    layer = None
    for c in controls:
        if c["layer"] != layer:
            layer = c["layer"]
            out += [f"## Layer: {layer}", ""]
        measure = c.get("measure", {})
        facts = [f"severity **{c['severity']}**"]
        if c.get("isolation"):
            facts.append("isolation control (a failure fails the verdict if critical)")
        if measure:
            facts.append("measured by " + ", ".join(f"{k} `{v}`" for k, v in measure.items()))
        if c.get("phase_metric"):
            facts.append(f"feeds `{c['phase_metric']}`")
        out += [f"### {c['id']}", "", f"**{c['title']}**", "", "; ".join(facts) + ".", ""]
        for key, label in (
            ("what", "What it checks"),
            ("why", "Why it matters"),
            ("how", "How it is verified"),
            ("remediation", "Remediation"),
        ):
            if c.get(key):
                out += [f"- **{label}:** {_cell(c[key])}"]
        out.append("")
    return "\n".join(out)


def render_faults() -> str:
    from reference_app.faults import REGISTRY

    return "\n".join(
        _table(
            (
                "fault",
                "layer",
                "what a real team got wrong",
                "layer below switched off",
                "control that should catch it",
            ),
            (
                (
                    f"`{fault.name}`",
                    fault.layer,
                    _cell(fault.summary),
                    fault.below,
                    f"[{fault.control}](controls.md#{fault.control.lower()})",
                )
                for fault in REGISTRY.values()
            ),
        )
    )


GENERATORS: dict[str, Callable[[], str]] = {"api": render_api, "controls": render_controls, "faults": render_faults}


def on_page_markdown(markdown: str, **_: Any) -> str:
    for name, generate in GENERATORS.items():
        marker = f"<!-- generated:{name} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
