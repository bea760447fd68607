"""Small target apps written in other styles than the reference app, each with a secure mode and seeded bugs.

They keep the harness honest on code it was not built with: `tests/harness/` runs the
isolation suite against them the way a user would, with a profile and real HTTP.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "targets" / "examples"

# Flask compiles every route with ast.parse, and CPython 3.11 keeps the AST validator's recursion depth
# per interpreter, not per thread: two apps built at once in the harness tests' worker threads fail with
# "AST constructor recursion depth mismatch" (python/cpython#106905). So Flask targets take turns to build.
BUILDING = threading.Lock()


def example_profile(name: str, base_url: str) -> dict[str, Any]:
    """``targets/examples/<name>.yaml`` pointed at ``base_url``: the tests run the profile the docs show."""
    raw: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    return {**raw, "base_url": base_url}


def bearer_document(title: str, version: str, paths: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.0 document whose operations take a bearer token unless they say ``security: []``."""
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
