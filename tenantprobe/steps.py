"""Identity steps: the HTTP requests a user makes to get a tenant and its credentials.

A profile describes them as data (register, log in, create a workspace, invite a member), with
``{name}`` placeholders filled from the tenant's variables and values captured from each
response for the next steps::

    - request: POST /api/v1/auth/register
      json: {email: "{slug}@example.test", password: "{password}"}
      capture: {token: "$.token", user_id: "$.user.id"}

Captures are JSON paths (``$.a.b[0].c``) or ``header:Location``. ``{env:NAME}`` reads the
environment, so no secret needs to be written into a profile.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tenantprobe.errors import ProfileError, ProvisioningError
from tenantprobe.redact import redact_text
from tenantprobe.wire import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT_SECONDS, Scope, UnusableAnswer, call

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*|env:[A-Za-z_][A-Za-z0-9_]*)\}")
_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
BODY_EXCERPT = 300


@dataclass(frozen=True)
class Step:
    """One request of an identity flow (see the module docstring for the profile shape)."""

    request: str
    json: Any = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    bearer: str | None = None
    basic: str | None = None
    capture: dict[str, str] = field(default_factory=dict)
    expect: tuple[int, ...] = ()

    @property
    def method(self) -> str:
        return self.request.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.request.split(" ", 1)[1]


def fill(template: Any, variables: Mapping[str, str], where: str = "template") -> Any:
    """Fill ``{name}`` and ``{env:NAME}`` in every string of a JSON-like template.

    A string that is exactly one placeholder keeps the variable's value; an unknown name is a
    profile error naming it and the variables there are.
    """
    if isinstance(template, list):
        return [fill(item, variables, where) for item in template]
    if isinstance(template, dict):
        return {key: fill(item, variables, f"{where}.{key}") for key, item in template.items()}
    if not isinstance(template, str):
        return template

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("env:"):
            found = os.environ.get(name[4:])
            if found is None:
                raise ProfileError(f"{where}: environment variable {name[4:]!r} is not set")
            return found
        if name not in variables:
            known = ", ".join(sorted(variables)) or "none"
            raise ProfileError(f"{where}: no variable {{{name}}} at this point (known: {known})")
        return str(variables[name])

    return _PLACEHOLDER.sub(value, template)


def json_path(document: Any, path: str) -> Any:
    """``$.a.b[0].c`` in a parsed JSON document; None when any part is missing."""
    if not path.startswith("$"):
        raise ProfileError(f"capture {path!r}: a JSON path starts with '$' (e.g. $.token), or use header:NAME")
    current = document
    for key, index in _PATH_PART.findall(path[1:]):
        if key and isinstance(current, dict):
            current = current.get(key)
        elif index and isinstance(current, list) and int(index) < len(current):
            current = current[int(index)]
        else:
            return None
    return current


def _capture(step: Step, response: httpx.Response) -> dict[str, str]:
    captured: dict[str, str] = {}
    try:
        body = response.json()
    except ValueError:
        body = None
    for name, source in step.capture.items():
        if source.lower().startswith("header:"):
            found: Any = response.headers.get(source.split(":", 1)[1].strip())
        else:
            found = json_path(body, source)
        if found is None or isinstance(found, dict | list | bool):
            raise ProvisioningError(
                f"{step.request}: capture {name}={source!r} found no value in the {response.status_code} response "
                f"(body starts: {redact_text(response.text)[:BODY_EXCERPT]!r}); fix the path in the profile's steps"
            )
        captured[name] = str(found)
    return captured


def _auth_headers(step: Step, variables: Mapping[str, str], where: str) -> dict[str, str]:
    headers = {name: str(value) for name, value in fill(step.headers, variables, f"{where}.headers").items()}
    if step.bearer is not None:
        headers["Authorization"] = "Bearer " + fill(step.bearer, variables, f"{where}.bearer")
    if step.basic is not None:
        pair = fill(step.basic, variables, f"{where}.basic")
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return headers


def run_steps(
    client: httpx.Client,
    steps: tuple[Step, ...],
    variables: Mapping[str, str],
    where: str,
    scope: Scope | None = None,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> dict[str, str]:
    """Run ``steps`` in order; the variables afterwards (the given ones plus every capture).

    A step's URL is filled from captures, so it is held to ``scope`` (by default the client's base URL):
    a value the target answered never sends the next step, and its credentials, to another host.
    """
    known = dict(variables)
    scope = scope or Scope(str(client.base_url))
    for index, step in enumerate(steps):
        place = f"{where}.{index}"
        try:
            response = call(
                scope,
                step.method,
                fill(step.path, known, f"{place}.request"),
                client=client,
                max_bytes=max_bytes,
                timeout=client.timeout.read or DEFAULT_TIMEOUT_SECONDS,
                json=fill(step.json, known, f"{place}.json") if step.json is not None else None,
                data=fill(step.form, known, f"{place}.form") if step.form is not None else None,
                headers=_auth_headers(step, known, place),
            )
        except UnusableAnswer as unusable:
            raise ProvisioningError(f"{place} ({step.request}): {unusable}") from None
        accepted = response.status_code in step.expect if step.expect else response.is_success
        if not accepted:
            raise ProvisioningError(
                f"{place} ({step.request}) answered {response.status_code}: "
                f"{redact_text(response.text)[:BODY_EXCERPT]!r}; the identity steps in the profile must succeed "
                "before anything can be tested"
            )
        known.update(_capture(step, response))
    return known
