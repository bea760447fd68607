"""Values a collection read hands back to be passed in again: cursors, page tokens, ``next`` links.

They are the victim's to replay. An app that reads the tenant out of a cursor, or serves the
position a cursor names without the caller's tenant, shows another tenant's next page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from tenantprobe.openapi import Operation

# A parameter name this short ("q", "id") is inside too many unrelated field names to match on.
MIN_NAME_CHARS = 4


def smallest_page(op: Operation) -> dict[str, str]:
    """Every optional integer query parameter at its documented minimum (``limit=1``): a next page appears early."""
    params = {}
    for param in op.query:
        minimum = param.schema.get("minimum")
        if not param.required and param.schema.get("type") == "integer" and isinstance(minimum, int) and minimum >= 1:
            params[param.name] = str(minimum)
    return params


def passed_back(op: Operation, body: Any, headers: Mapping[str, str]) -> dict[str, str]:
    """Optional string query parameters of ``op`` whose value the response hands back (parameter → value).

    A body field whose name contains the parameter's (``next_cursor`` for ``cursor``,
    ``nextPageToken`` for ``page_token``), at the top level or one level down, or the parameter
    in the URL of a ``Link: <...>; rel="next"`` header.
    """
    fields = _string_fields(body)
    links = _next_link_params(headers)
    found = {}
    for param in op.query:
        name = _normal(param.name)
        if param.required or param.schema.get("type", "string") != "string" or len(name) < MIN_NAME_CHARS:
            continue
        value = links.get(param.name) or next((v for key, v in fields.items() if name in _normal(key)), None)
        if value:
            found[param.name] = value
    return found


def _string_fields(body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        return {}
    fields = {key: value for key, value in body.items() if isinstance(value, str)}
    for key, value in body.items():
        if isinstance(value, dict):
            fields |= {f"{key}.{inner}": v for inner, v in value.items() if isinstance(v, str)}
    return fields


def _next_link_params(headers: Mapping[str, str]) -> dict[str, str]:
    link_header = next((value for key, value in headers.items() if key.lower() == "link"), "")
    for link in httpx.Response(200, headers={"link": link_header}).links.values():  # httpx parses RFC 8288
        if link.get("rel") == "next" and link.get("url"):
            return dict(httpx.URL(link["url"]).params)
    return {}


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())
