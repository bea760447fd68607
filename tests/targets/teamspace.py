"""Team projects on Starlette: API keys in ``X-Api-Key``, an ``X-Org`` header, slugs as ids, ids only in ``Location``.

The OpenAPI document declares no ``security`` at all (the key is read by the handlers), an org
signs up at ``POST /signup`` and receives its key, and a create answers ``201`` with an empty
body and ``Location: /projects/<slug>``. Modes:

- ``secure``: the org comes from the API key; an ``X-Org`` header naming another org is refused;
- ``trusts_org_header``: an ``X-Org`` header overrides the key's org ("the gateway sets it");
- ``global_slugs``: "nicer URLs": a project's slug is its name, with no random part, and the
  slug table is shared by every org, so a name another org uses answers 409.
- ``archive_by_slug``: the custom verb ``POST /projects/{slug}:archive`` finds the project by its slug
  alone ("slugs are unique"), so any org archives any other org's project.
"""

from __future__ import annotations

import re
import secrets
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.targets import example_profile

MODES = ("secure", "trusts_org_header", "global_slugs", "archive_by_slug")
ORG_HEADER = {"name": "X-Org", "in": "header", "required": False, "schema": {"type": "string"}}
PROJECT_IN = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 3}, "summary": {"type": "string"}},
}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Teamspace", "version": "5.1"},
    "paths": {
        "/signup": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "required": ["org"], "properties": {"org": {"type": "string"}}}
                        }
                    }
                },
                "responses": {"201": {"description": "the org and its API key"}},
            }
        },
        "/projects": {
            "get": {"parameters": [ORG_HEADER], "responses": {"200": {"description": "projects"}}},
            "post": {
                "parameters": [ORG_HEADER],
                "requestBody": {"content": {"application/json": {"schema": PROJECT_IN}}},
                "responses": {"201": {"description": "created; see Location"}},
            },
        },
        "/projects/{slug}": {
            "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"parameters": [ORG_HEADER], "responses": {"200": {"description": "a project"}}},
            "put": {
                "parameters": [ORG_HEADER],
                "requestBody": {"content": {"application/json": {"schema": PROJECT_IN}}},
                "responses": {"200": {"description": "replaced"}},
            },
            "delete": {"parameters": [ORG_HEADER], "responses": {"204": {"description": "deleted"}}},
        },
        "/projects/{slug}:archive": {
            "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {"parameters": [ORG_HEADER], "responses": {"200": {"description": "the archived project"}}},
        },
    },
}


class Teamspace:
    """One app with its own state; ``app`` is the ASGI callable."""

    def __init__(self, mode: str = "secure") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown teamspace mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self._keys: dict[str, str] = {}  # API key -> org
        self._projects: dict[str, dict[str, Any]] = {}  # slug -> project (with its org)
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/openapi.json", lambda _: JSONResponse(OPENAPI)),
                Route("/signup", self.signup, methods=["POST"]),
                Route("/projects", self.projects, methods=["GET", "POST"]),
                Route("/projects/{slug}:archive", self.archive, methods=["POST"]),
                Route("/projects/{slug}", self.project, methods=["GET", "PUT", "DELETE"]),
            ]
        )

    async def signup(self, request: Request) -> Response:
        body = await request.json()
        key = "tsk_" + secrets.token_hex(16)
        with self._lock:
            self._keys[key] = str(body["org"])
        return JSONResponse({"org": body["org"], "api_key": key}, status_code=201)

    def _org(self, request: Request) -> str | Response:
        own = self._keys.get(request.headers.get("x-api-key", ""))
        if own is None:
            return JSONResponse({"message": "missing or unknown API key"}, status_code=401)
        named = request.headers.get("x-org")
        if named and named != own:
            if self.mode == "trusts_org_header":
                return named
            return JSONResponse({"message": "X-Org does not match your key"}, status_code=403)
        return own

    async def projects(self, request: Request) -> Response:
        org = self._org(request)
        if isinstance(org, Response):
            return org
        if request.method == "GET":
            with self._lock:
                mine = [public(p) for p in self._projects.values() if p["org"] == org]
            return JSONResponse({"items": mine, "count": len(mine)})
        body = await request.json()
        if not isinstance(body.get("name"), str) or len(body["name"]) < 3:
            return JSONResponse({"message": "name: at least 3 characters"}, status_code=400)
        slug = re.sub(r"[^a-z0-9]+", "-", body["name"].lower()).strip("-")
        slug = slug if self.mode == "global_slugs" else slug[:24] + "-" + secrets.token_hex(3)
        with self._lock:
            if slug in self._projects:  # only global_slugs can repeat one: the others end with a random part
                return JSONResponse({"message": f"a project {slug!r} already exists"}, status_code=409)
            self._projects[slug] = {"slug": slug, "org": org, "name": body["name"], "summary": body.get("summary")}
        return Response(status_code=201, headers={"Location": f"/projects/{slug}"})

    async def project(self, request: Request) -> Response:
        org = self._org(request)
        if isinstance(org, Response):
            return org
        slug = request.path_params["slug"]
        with self._lock:
            found = self._projects.get(slug)
        if found is None or found["org"] != org:
            return JSONResponse({"message": "no such project"}, status_code=404)
        if request.method == "DELETE":
            with self._lock:
                del self._projects[slug]
            return Response(status_code=204)
        if request.method == "PUT":
            body = await request.json()
            if not isinstance(body.get("name"), str) or len(body["name"]) < 3:
                return JSONResponse({"message": "name: at least 3 characters"}, status_code=400)
            with self._lock:
                found.update(name=body["name"], summary=body.get("summary"))
        return JSONResponse(public(found))

    async def archive(self, request: Request) -> Response:
        org = self._org(request)
        if isinstance(org, Response):
            return org
        with self._lock:
            found = self._projects.get(request.path_params["slug"])
            if found is None or (found["org"] != org and self.mode != "archive_by_slug"):
                return JSONResponse({"message": "no such project"}, status_code=404)
            found["archived"] = True
        return JSONResponse(public(found))


def public(project: dict[str, Any]) -> dict[str, Any]:
    return {
        "slug": project["slug"],
        "name": project["name"],
        "summary": project["summary"],
        "archived": bool(project.get("archived")),
    }


def profile(base_url: str) -> dict[str, Any]:
    """The profile a user writes for this app: ``targets/examples/teamspace.yaml``."""
    return example_profile("teamspace", base_url)
