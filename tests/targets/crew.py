"""Crew, workspaces with members and roles on Starlette: users register, own workspaces and add members by user id.

Users register at ``POST /auth/register`` (a bearer token and their id back), create a workspace
(they own it) and add other users as ``member`` or ``owner`` by their id. Members write the
workspace's projects and issues; only owners change the workspace and manage its members.
Issues may name a project of the workspace. The API lives under ``/api``, which its OpenAPI document
(served as YAML) names as its server, as Airflow's does; an issue's ``workspace_id`` is read-only (the
path says which) and a body that carries it is refused, as Airflow refuses a DAG run's ``dag_id``; a
new workspace's id may be chosen by the client (``workspace_id``), as an Airflow DAG run's is. Modes:

- ``secure``: every rule above holds, and an issue's project must be one of its workspace's;
- ``member_edits_workspace``: any member renames the workspace ("the settings page is owners-only");
- ``members_manage_members``: any member adds members, changes their roles and removes them
  (so a member makes anyone, themselves included, an owner);
- ``project_ref_not_checked``: an issue may name any workspace's project, whose stats then count it.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from tests.targets import example_profile

MODES = ("secure", "member_edits_workspace", "members_manage_members", "project_ref_not_checked")
ROLES = ("owner", "member")


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


STRING = {"type": "string"}
ROLE = {"type": "string", "default": "member"}
WS = {"name": "workspace_id", "in": "path", "required": True, "schema": STRING}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STRING}


OK = {"200": {"description": "ok"}}
CREATED = {"201": {"description": "created"}}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Crew", "version": "1.0"},
    "servers": [{"url": "/api"}],
    "paths": {
        "/auth/register": {
            "post": {
                "requestBody": _json(_object(["email", "password"], email=STRING, password=STRING)),
                "responses": CREATED,
            }
        },
        "/workspaces": {
            "get": {"responses": OK},
            "post": {"requestBody": _json(_object(["name"], name=STRING, workspace_id=STRING)), "responses": CREATED},
        },
        "/workspaces/{workspace_id}": {
            "parameters": [WS],
            "get": {"responses": OK},
            "patch": {"requestBody": _json(_object([], name=STRING, description=STRING)), "responses": OK},
        },
        "/workspaces/{workspace_id}/members": {
            "parameters": [WS],
            "get": {"responses": OK},
            "post": {
                "requestBody": _json(_object(["user_id"], user_id=STRING, role=ROLE)),
                "responses": CREATED,
            },
        },
        "/workspaces/{workspace_id}/members/{user_id}": {
            "parameters": [WS, _id("user_id")],
            "patch": {"requestBody": _json(_object(["role"], role=STRING)), "responses": OK},
            "delete": {"responses": {"204": {"description": "removed"}}},
        },
        "/workspaces/{workspace_id}/projects": {
            "parameters": [WS],
            "get": {"responses": OK},
            "post": {"requestBody": _json(_object(["name"], name=STRING)), "responses": CREATED},
        },
        "/workspaces/{workspace_id}/projects/{project_id}": {
            "parameters": [WS, _id("project_id")],
            "get": {"responses": OK},
        },
        "/workspaces/{workspace_id}/projects/{project_id}/stats": {
            "parameters": [WS, _id("project_id")],
            "get": {"responses": OK},
        },
        "/workspaces/{workspace_id}/issues": {
            "parameters": [WS],
            "get": {
                "parameters": [
                    {"name": "project_id", "in": "query", "required": False, "schema": STRING},
                    {"name": "sort", "in": "query", "required": False, "schema": STRING},
                ],
                "responses": OK,
            },
            "post": {
                "requestBody": _json(
                    _object(
                        ["title"],
                        title=STRING,
                        project_id={"anyOf": [STRING, {"type": "null"}]},
                        workspace_id={"type": "string", "readOnly": True},
                    )
                ),
                "responses": CREATED,
            },
        },
        "/workspaces/{workspace_id}/issues/{issue_id}": {
            "parameters": [WS, _id("issue_id")],
            "get": {"responses": OK},
        },
        "/workspaces/{workspace_id}/issues/{issue_id}/watchers": {
            "parameters": [WS, _id("issue_id")],
            "get": {"responses": OK},
        },
    },
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


class Crew:
    """One app with its own state; ``app`` is the ASGI callable."""

    def __init__(self, mode: str = "secure") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown crew mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self._users: dict[str, str] = {}  # token -> user id
        self._emails: set[str] = set()
        self._members: dict[str, dict[str, str]] = {}  # workspace id -> {user id: role}
        self._workspaces: dict[str, dict[str, Any]] = {}
        self._projects: dict[str, dict[str, Any]] = {}
        self._issues: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        api = Mount(
            "/api",
            routes=[
                Route("/openapi.yaml", lambda _: Response(yaml.safe_dump(OPENAPI), media_type="application/yaml")),
                Route("/auth/register", self.register, methods=["POST"]),
                Route("/workspaces", self.workspaces, methods=["GET", "POST"]),
                Route("/workspaces/{workspace_id}", self.workspace, methods=["GET", "PATCH"]),
                Route("/workspaces/{workspace_id}/members", self.members, methods=["GET", "POST"]),
                Route("/workspaces/{workspace_id}/members/{user_id}", self.member, methods=["PATCH", "DELETE"]),
                Route("/workspaces/{workspace_id}/projects", self.projects, methods=["GET", "POST"]),
                Route("/workspaces/{workspace_id}/projects/{project_id}", self.project, methods=["GET"]),
                Route("/workspaces/{workspace_id}/projects/{project_id}/stats", self.stats, methods=["GET"]),
                Route("/workspaces/{workspace_id}/issues", self.issues, methods=["GET", "POST"]),
                Route("/workspaces/{workspace_id}/issues/{issue_id}", self.issue, methods=["GET"]),
                Route("/workspaces/{workspace_id}/issues/{issue_id}/watchers", self.watchers, methods=["GET"]),
            ],
        )
        self.app = Starlette(routes=[api])

    async def register(self, request: Request) -> Response:
        body = await request.json()
        email = body.get("email")
        if not isinstance(email, str) or not isinstance(body.get("password"), str):
            return _error(422, "email and password are required")
        token, user_id = secrets.token_urlsafe(24), str(uuid.uuid4())
        with self._lock:
            if email in self._emails:
                return _error(409, "email already registered")
            self._emails.add(email)
            self._users[token] = user_id
        return JSONResponse({"token": token, "user": {"id": user_id, "email": email}}, status_code=201)

    def _role(self, request: Request) -> tuple[str, str | None] | Response:
        """(the caller's user id, their role in the path's workspace, None when not a member) or a refusal."""
        header = request.headers.get("authorization", "")
        user = self._users.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if user is None:
            return _error(401, "missing or unknown token")
        workspace = request.path_params.get("workspace_id")
        return user, self._members.get(workspace, {}).get(user) if workspace else None

    def _member(self, request: Request, owner_only: bool = False) -> tuple[str, str] | Response:
        """(user, workspace id) when the caller may act here: a member, or an owner where ``owner_only``."""
        found = self._role(request)
        if isinstance(found, Response):
            return found
        user, role = found
        if role is None:
            return _error(404, "no such workspace")
        if owner_only and role != "owner":
            return _error(403, "owners only")
        return user, request.path_params["workspace_id"]

    async def workspaces(self, request: Request) -> Response:
        found = self._role(request)
        if isinstance(found, Response):
            return found
        user = found[0]
        if request.method == "GET":
            with self._lock:
                mine = [w for wid, w in self._workspaces.items() if user in self._members[wid]]
            return JSONResponse(mine)
        body = await request.json()
        if not isinstance(body.get("name"), str):
            return _error(422, "name is required")
        workspace = {"id": str(body.get("workspace_id") or uuid.uuid4()), "name": body["name"], "description": None}
        with self._lock:
            if workspace["id"] in self._workspaces:
                return _error(409, f"workspace {workspace['id']!r} already exists")
            self._workspaces[workspace["id"]] = workspace
            self._members[workspace["id"]] = {user: "owner"}
        return JSONResponse(workspace, status_code=201)

    async def workspace(self, request: Request) -> Response:
        editing = request.method == "PATCH"
        allowed = self._member(request, owner_only=editing and self.mode != "member_edits_workspace")
        if isinstance(allowed, Response):
            return allowed
        workspace = self._workspaces[allowed[1]]
        if editing:
            body = await request.json()
            with self._lock:
                workspace.update({k: v for k, v in body.items() if k in ("name", "description")})
        return JSONResponse(workspace)

    def _manages(self, request: Request, writing: bool) -> tuple[str, str] | Response:
        return self._member(request, owner_only=writing and self.mode != "members_manage_members")

    async def members(self, request: Request) -> Response:
        allowed = self._manages(request, request.method == "POST")
        if isinstance(allowed, Response):
            return allowed
        members = self._members[allowed[1]]
        if request.method == "GET":
            return JSONResponse([{"user_id": u, "role": r} for u, r in members.items()])
        body = await request.json()
        user_id, role = body.get("user_id"), body.get("role", "member")
        if role not in ROLES:
            return _error(400, f"role must be one of {', '.join(ROLES)}")
        with self._lock:
            if user_id not in self._users.values():
                return _error(400, "no such user")
            if user_id in members:
                return _error(409, "already a member")
            members[user_id] = role
        return JSONResponse({"user_id": user_id, "role": role, "workspace_id": allowed[1]}, status_code=201)

    async def member(self, request: Request) -> Response:
        allowed = self._manages(request, True)
        if isinstance(allowed, Response):
            return allowed
        members, user_id = self._members[allowed[1]], request.path_params["user_id"]
        if user_id not in members:
            return _error(404, "no such member")
        if request.method == "DELETE":
            with self._lock:
                del members[user_id]
            return Response(status_code=204)
        role = (await request.json()).get("role")
        if role not in ROLES:
            return _error(400, f"role must be one of {', '.join(ROLES)}")
        with self._lock:
            members[user_id] = role
        return JSONResponse({"user_id": user_id, "role": role, "workspace_id": allowed[1]})

    async def projects(self, request: Request) -> Response:
        allowed = self._member(request)
        if isinstance(allowed, Response):
            return allowed
        workspace = allowed[1]
        if request.method == "GET":
            return JSONResponse([p for p in self._projects.values() if p["workspace_id"] == workspace])
        body = await request.json()
        if not isinstance(body.get("name"), str):
            return _error(422, "name is required")
        project = {"id": str(uuid.uuid4()), "workspace_id": workspace, "name": body["name"]}
        with self._lock:
            self._projects[project["id"]] = project
        return JSONResponse(project, status_code=201)

    def _project(self, request: Request) -> dict[str, Any] | Response:
        allowed = self._member(request)
        if isinstance(allowed, Response):
            return allowed
        project = self._projects.get(request.path_params["project_id"])
        if project is None or project["workspace_id"] != allowed[1]:
            return _error(404, "no such project")
        return project

    async def project(self, request: Request) -> Response:
        found = self._project(request)
        return found if isinstance(found, Response) else JSONResponse(found)

    async def stats(self, request: Request) -> Response:
        found = self._project(request)
        if isinstance(found, Response):
            return found
        count = sum(1 for issue in self._issues.values() if issue["project_id"] == found["id"])
        return JSONResponse({"project_id": found["id"], "issues": count})

    async def issues(self, request: Request) -> Response:
        allowed = self._member(request)
        if isinstance(allowed, Response):
            return allowed
        workspace = allowed[1]
        if request.method == "GET":
            wanted = request.query_params.get("project_id")
            mine = [i for i in self._issues.values() if i["workspace_id"] == workspace]
            shown = [i for i in mine if wanted is None or i["project_id"] == wanted]
            key = request.query_params.get("sort", "title")  # a field name; anything else keeps the order
            return JSONResponse(sorted(shown, key=lambda i: str(i.get(key, ""))))
        body = await request.json()
        if "workspace_id" in body:  # the path says which: the schema marks it read-only, as Airflow does dag_id
            return _error(400, "Property is read-only - 'workspace_id'")
        project_id = body.get("project_id")
        if not isinstance(body.get("title"), str):
            return _error(422, "title is required")
        project = self._projects.get(project_id) if project_id is not None else None
        if project_id is not None and (
            project is None or (project["workspace_id"] != workspace and self.mode != "project_ref_not_checked")
        ):
            return _error(400, "no such project")
        issue = {"id": str(uuid.uuid4()), "workspace_id": workspace, "project_id": project_id, "title": body["title"]}
        with self._lock:
            self._issues[issue["id"]] = issue
        return JSONResponse(issue, status_code=201)

    async def issue(self, request: Request) -> Response:
        allowed = self._member(request)
        if isinstance(allowed, Response):
            return allowed
        issue = self._issues.get(request.path_params["issue_id"])
        if issue is None or issue["workspace_id"] != allowed[1]:
            return _error(404, "no such issue")
        return JSONResponse(issue)

    async def watchers(self, request: Request) -> Response:
        """The workspace's members watching the issue: filtered by both ids, so another workspace's issue here
        lists nobody (an empty list, not a 404), as Airflow lists a DAG run's task instances."""
        allowed = self._member(request)
        if isinstance(allowed, Response):
            return allowed
        issue = self._issues.get(request.path_params["issue_id"])
        watching = issue is not None and issue["workspace_id"] == allowed[1]
        return JSONResponse({"watchers": [allowed[0]] if watching else [], "total": int(watching)})


def profile(base_url: str) -> dict[str, Any]:
    """The profile a user writes for this app: ``targets/examples/crew.yaml``."""
    return example_profile("crew", base_url)
