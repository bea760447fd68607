"""Journal, an RPC-style API on Starlette: every call is ``/api/<noun>.<verb>``, as Slack's or MLflow's are.

A user signs up at ``POST /api/users.signup`` (a bearer token back) and is the tenant. Journals and
their entries are made by ``POST /api/journals.create`` and ``POST /api/entries.create``, which
answer ``{"journal": {"ref": ...}}`` and ``{"entry": {"ref": ...}}``; later calls carry that ref in
a query parameter (``GET /api/entries.info?entry=``) or a body field (``{"entry": ...}``). No path
holds an id, and the fields are named ``journal`` and ``entry``, not ``*_id``: only the OpenAPI links
of the creates' answers say which id goes where (the link to ``entries.update`` names its body
field). Modes:

- ``secure``: every call checks that the journal or entry is the caller's (404 otherwise);
- ``entry_read_not_checked``: ``GET /api/entries.info?entry=`` shows any user's entry;
- ``entry_update_not_checked``: ``POST /api/entries.update`` rewrites any user's entry.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.targets import bearer_document, example_profile

MODES = ("secure", "entry_read_not_checked", "entry_update_not_checked")
STRING = {"type": "string"}
TEXT = {"type": "string", "minLength": 1}


def _body(required: list[str], **properties: Any) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _query(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": True, "schema": STRING}


def _answer(description: str, links: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if links:
        response["links"] = links
    return {"200": response}


OPENAPI = bearer_document(
    "Journal",
    "1.0",
    {
        "/api/users.signup": {
            "post": {
                "operationId": "signUp",
                "security": [],
                "requestBody": _body(["name"], name=STRING),
                "responses": _answer("a token"),
            }
        },
        "/api/journals.list": {"get": {"operationId": "listJournals", "responses": _answer("the caller's journals")}},
        "/api/journals.create": {
            "post": {
                "operationId": "createJournal",
                "requestBody": _body(["title"], title=TEXT),
                "responses": _answer(
                    "the journal",
                    {
                        "Info": {
                            "operationId": "journalInfo",
                            "parameters": {"query.journal": "$response.body#/journal/ref"},
                        },
                        "AddEntry": {
                            "operationId": "createEntry",
                            "requestBody": {"journal": "$response.body#/journal/ref"},
                        },
                    },
                ),
            }
        },
        "/api/journals.info": {
            "get": {"operationId": "journalInfo", "parameters": [_query("journal")], "responses": _answer("a journal")}
        },
        "/api/entries.create": {
            "post": {
                "operationId": "createEntry",
                "requestBody": _body(["journal", "text"], journal=STRING, text=TEXT),
                "responses": _answer(
                    "the entry",
                    {
                        "Info": {
                            "operationId": "entryInfo",
                            "parameters": {"query.entry": "$response.body#/entry/ref"},
                        },
                        "Update": {"operationId": "updateEntry", "requestBody": {"entry": "$response.body#/entry/ref"}},
                    },
                ),
            }
        },
        "/api/entries.info": {
            "get": {"operationId": "entryInfo", "parameters": [_query("entry")], "responses": _answer("an entry")}
        },
        "/api/entries.update": {
            "post": {
                "operationId": "updateEntry",
                "requestBody": _body(["entry", "text"], entry=STRING, text=TEXT),
                "responses": _answer("the entry"),
            }
        },
    },
)


class Journal:
    """One app with its own state; ``app`` is the ASGI callable."""

    def __init__(self, mode: str = "secure") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown journal mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self._users: dict[str, str] = {}  # token -> user
        self._journals: dict[str, dict[str, str]] = {}  # ref -> journal (with its owner)
        self._entries: dict[str, dict[str, str]] = {}  # ref -> entry (with its owner and journal)
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/openapi.json", lambda request: JSONResponse(OPENAPI)),
                Route("/api/users.signup", self.sign_up, methods=["POST"]),
                Route("/api/journals.list", self.list_journals),
                Route("/api/journals.create", self.create_journal, methods=["POST"]),
                Route("/api/journals.info", self.journal_info),
                Route("/api/entries.create", self.create_entry, methods=["POST"]),
                Route("/api/entries.info", self.entry_info),
                Route("/api/entries.update", self.update_entry, methods=["POST"]),
            ]
        )

    def _user(self, request: Request) -> str | None:
        return self._users.get(request.headers.get("authorization", "").removeprefix("Bearer "))

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    @staticmethod
    def _missing(what: str) -> JSONResponse:
        return JSONResponse({"error": f"{what}_not_found"}, 404)

    async def sign_up(self, request: Request) -> JSONResponse:
        name = (await self._json(request)).get("name")
        if not isinstance(name, str) or not name:
            return JSONResponse({"error": "name_required"}, 400)
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._users[token] = f"{name}-{secrets.token_hex(3)}"
        return JSONResponse({"token": token})

    async def list_journals(self, request: Request) -> JSONResponse:
        if (user := self._user(request)) is None:
            return JSONResponse({"error": "not_authed"}, 401)
        return JSONResponse({"journals": [j for j in self._journals.values() if j["owner"] == user]})

    async def create_journal(self, request: Request) -> JSONResponse:
        if (user := self._user(request)) is None:
            return JSONResponse({"error": "not_authed"}, 401)
        title = (await self._json(request)).get("title")
        if not isinstance(title, str) or not title:
            return JSONResponse({"error": "title_required"}, 400)
        journal = {"ref": f"jr_{secrets.token_hex(6)}", "title": title, "owner": user}
        with self._lock:
            self._journals[journal["ref"]] = journal
        return JSONResponse({"journal": journal})

    async def journal_info(self, request: Request) -> JSONResponse:
        if (user := self._user(request)) is None:
            return JSONResponse({"error": "not_authed"}, 401)
        journal = self._journals.get(request.query_params.get("journal", ""))
        if journal is None or journal["owner"] != user:
            return self._missing("journal")
        return JSONResponse({"journal": journal})

    async def create_entry(self, request: Request) -> JSONResponse:
        if (user := self._user(request)) is None:
            return JSONResponse({"error": "not_authed"}, 401)
        body = await self._json(request)
        journal = self._journals.get(str(body.get("journal", "")))
        if journal is None or journal["owner"] != user:
            return self._missing("journal")
        if not isinstance(body.get("text"), str) or not body["text"]:
            return JSONResponse({"error": "text_required"}, 400)
        entry = {"ref": f"en_{secrets.token_hex(6)}", "journal": journal["ref"], "text": body["text"], "owner": user}
        with self._lock:
            self._entries[entry["ref"]] = entry
        return JSONResponse({"entry": entry})

    def _entry(self, ref: str, user: str, checked: bool) -> dict[str, str] | None:
        entry = self._entries.get(ref)
        return entry if entry is not None and (entry["owner"] == user or not checked) else None

    async def entry_info(self, request: Request) -> JSONResponse:
        if (user := self._user(request)) is None:
            return JSONResponse({"error": "not_authed"}, 401)
        checked = self.mode != "entry_read_not_checked"
        entry = self._entry(request.query_params.get("entry", ""), user, checked)
        return JSONResponse({"entry": entry}) if entry is not None else self._missing("entry")

    async def update_entry(self, request: Request) -> JSONResponse:
        if (user := self._user(request)) is None:
            return JSONResponse({"error": "not_authed"}, 401)
        body = await self._json(request)
        entry = self._entry(str(body.get("entry", "")), user, self.mode != "entry_update_not_checked")
        if entry is None:
            return self._missing("entry")
        if not isinstance(body.get("text"), str) or not body["text"]:
            return JSONResponse({"error": "text_required"}, 400)
        with self._lock:
            entry["text"] = body["text"]
        return JSONResponse({"entry": entry})


def profile(base_url: str) -> dict[str, Any]:
    """The profile a user writes for this app (``targets/examples/journal.yaml``)."""
    return example_profile("journal", base_url)
