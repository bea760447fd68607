"""A helpdesk API in Flask + SQLite: tenants are companies, tickets belong to one, static API tokens.

Written the way a small team writes a Flask app (sqlite3, a hand-written OpenAPI document, a
bearer-token lookup table), not the way the reference app is. The ticket list is paged with
``?limit=`` and an opaque ``?cursor=`` (base64 JSON naming the company and the last ticket) that
a page hands back as ``next_cursor``. ``Helpdesk(mode)`` serves the secure app, one seeded
isolation bug, or one of the behaviours that fool a careless harness:

- ``secure``: every query is scoped by the token's company; a cursor of another company is refused;
- ``update_leak``: ``PUT /api/tickets/<id>`` updates by id alone, behind a ``minLength`` rule;
- ``cursor_trusts_company``: a later page lists the company the cursor names ("the cursor carries
  the query it continues"), so another company's cursor pages through its tickets;
- ``jwt``: single sign-on: HS256 JWTs (``sub`` the agent's email, ``company`` its company)
  verified with a shared secret, and ``GET /api/me/recent``, the tickets the agent viewed last,
  kept per (company, agent);
- ``recent_by_user``: the same, but recently viewed tickets are kept per ``sub`` alone ("emails are
  unique"), so an agent of another company with the same email sees them;
- ``refuse_tokens``: every token is refused (401), as after a key rotation;
- ``rate_limited``: everything answers 429 with a long ``Retry-After``, as behind a WAF;
- ``reject_bodies``: every body is refused with 422;
- ``integer_ids``: ids are integers;
- ``no_id``: a create answers 201 with no body;
- ``server_error_writes``: every write answers 500;
- ``redirects``: every API request is redirected to a login page.

Targets that misbehave on the wire (every API read, after authentication), which must end as
inconclusive with the reason, never as a pass or a crash of the harness:

- ``giant_bodies``: a body far over the profile's ``max_body_bytes``, streamed without a length;
- ``garbage``: an HTML page for an item, JSON that does not parse for a collection;
- ``empty_ok``: 200 with an empty body;
- ``slow_drip``: a short body dripped a byte at a time, slower than the profile's timeout;
- ``reset``: the connection reset instead of an answer;
- ``offsite_redirect``: a redirect to another origin (``Helpdesk(mode, offsite=url)``), which must never be hit.

And two crashes that only another tenant's ticket provokes, which are findings:
``crash_foreign`` (500) and ``reset_foreign`` (the connection reset).

``hits`` lists every ``METHOD /path`` the app received, so a test can show what was never sent.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import sqlite3
import struct
import time
from typing import Any

import jwt
from flask import Flask, Response, jsonify, redirect, request

from tests.targets import BUILDING, example_profile
from tests.targets.store import SqliteStore

MODES = (
    "secure",
    "update_leak",
    "cursor_trusts_company",
    "jwt",
    "recent_by_user",
    "refuse_tokens",
    "rate_limited",
    "reject_bodies",
    "integer_ids",
    "no_id",
    "server_error_writes",
    "redirects",
    "giant_bodies",
    "garbage",
    "empty_ok",
    "slow_drip",
    "reset",
    "offsite_redirect",
    "crash_foreign",
    "reset_foreign",
)
MISBEHAVING = ("giant_bodies", "garbage", "empty_ok", "slow_drip", "reset", "offsite_redirect")
GIANT_BODY_BYTES = 3 * 1024 * 1024
DRIP_SECONDS = 0.25  # between two bytes of a dripped body
TOKENS = {"acme-owner-token": "acme", "globex-owner-token": "globex"}
JWT_MODES = ("jwt", "recent_by_user")
JWT_SECRET_ENV = "HELPDESK_JWT_SECRET"  # the profile's auth.key_env: the harness signs with the same secret
JWT_SECRET = "helpdesk-sso-shared-secret-for-tests-only"
PAGE_MAX = 100
RECENT_MAX = 10
TITLE_MIN = 40  # longer than a canary: a generator that ignores minLength gets 422 everywhere

TICKET_BODY = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TicketIn"}}}}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Helpdesk", "version": "2.4.1"},
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "TicketIn": {
                "type": "object",
                "required": ["title"],
                "properties": {
                    "title": {"type": "string", "minLength": TITLE_MIN, "maxLength": 120},
                    "body": {"type": "string"},
                    "priority": {"type": "string", "enum": ["low", "normal", "high"]},
                },
            },
        },
    },
    "paths": {
        "/api/tickets": {
            "get": {
                "operationId": "listTickets",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": 50},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "a previous page's next_cursor",
                    },
                ],
                "responses": {"200": {"description": "a page of tickets and the next page's cursor"}},
            },
            "post": {
                "operationId": "openTicket",
                "requestBody": TICKET_BODY,
                "responses": {"201": {"description": "opened"}},
            },
        },
        "/api/tickets/{ticket_id}": {
            "parameters": [{"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"operationId": "getTicket", "responses": {"200": {"description": "a ticket"}}},
            "put": {
                "operationId": "updateTicket",
                "requestBody": TICKET_BODY,
                "responses": {"200": {"description": "updated"}},
            },
            "delete": {"operationId": "closeTicket", "responses": {"204": {"description": "closed"}}},
        },
    },
}
# Added with single sign-on: before it, a static token was a company, not an agent.
RECENT_PATHS: dict[str, Any] = {
    "/api/me/recent": {
        "get": {"operationId": "recentTickets", "responses": {"200": {"description": "tickets viewed last"}}}
    }
}


class Helpdesk:
    """One app instance with its own in-memory database; ``app`` is the WSGI callable."""

    def __init__(self, mode: str = "secure", offsite: str = "http://127.0.0.1:9") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown helpdesk mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self.offsite = offsite
        self.hits: list[str] = []
        self._store = SqliteStore(
            "create table tickets (pk integer primary key, public_id text unique, company text not null,"
            " title text not null, body text, priority text);"
            "create table views (company text not null, agent text not null, ticket_pk integer not null)"
        )
        self._query = self._store.query
        with BUILDING:
            self.app = self._build()

    def _public(self, row: sqlite3.Row) -> dict[str, Any]:
        key = row["pk"] if self.mode == "integer_ids" else row["public_id"]
        return {"id": key, "title": row["title"], "body": row["body"], "priority": row["priority"]}

    def _key_column(self) -> str:
        return "pk" if self.mode == "integer_ids" else "public_id"

    def _build(self) -> Flask:
        app = Flask("helpdesk")

        @app.before_request
        def gatekeeper() -> Any:
            self.hits.append(f"{request.method} {request.path}")
            if request.path == "/openapi.json" or request.path == "/login":
                return None
            if self.mode == "redirects":
                return redirect("/login", code=302)
            if self.mode == "rate_limited":
                return Response('{"error": "slow down"}', 429, {"Retry-After": "3600"}, mimetype="application/json")
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            caller = agent_of(token)
            if self.mode == "refuse_tokens" or caller is None:
                return jsonify(error="invalid token"), 401
            if request.method in ("POST", "PUT", "DELETE") and self.mode == "server_error_writes":
                return jsonify(error="database is read-only"), 500
            if request.method in ("POST", "PUT") and self.mode == "reject_bodies":
                return jsonify(error="unsupported body"), 422
            request.environ["helpdesk.company"], request.environ["helpdesk.agent"] = caller
            return misbehave() if request.method == "GET" else None

        def agent_of(token: str) -> tuple[str, str] | None:
            """(company, agent) of a valid token: a static token is its company's only agent."""
            if self.mode not in JWT_MODES:
                return (TOKENS[token], "owner") if token in TOKENS else None
            try:
                claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], options={"require": ["exp", "sub"]})
            except jwt.PyJWTError:
                return None
            company = claims.get("company")
            return (str(company), str(claims["sub"])) if company in TOKENS.values() else None

        def misbehave() -> Any:
            """The wire-level misbehaviour of the mode, for an authenticated API read (None: behave)."""
            if self.mode == "giant_bodies":
                chunk = b" " * 65536
                body = (chunk for _ in range(GIANT_BODY_BYTES // len(chunk)))
                return Response(body, 200, mimetype="application/json")
            if self.mode == "garbage":
                if request.path.rstrip("/") == "/api/tickets":
                    return Response('{"tickets": [{"id": "tk_', 200, mimetype="application/json")
                return Response("<html><body><h1>Welcome back!</h1></body></html>", 200, mimetype="text/html")
            if self.mode == "empty_ok":
                return Response("", 200, mimetype="application/json")
            if self.mode == "slow_drip":
                return Response(drip(b'{"tickets": []}'), 200, mimetype="application/json")
            if self.mode == "reset":
                return reset_connection()
            if self.mode == "offsite_redirect":
                return redirect(self.offsite + request.full_path.rstrip("?"), code=302)
            return None

        def drip(body: bytes) -> Any:
            for byte in body:
                time.sleep(DRIP_SECONDS)
                yield bytes([byte])

        def reset_connection() -> Any:
            """Drop the connection without an answer (RST on close), as a crashed worker or a proxy that gave up."""
            connection = request.environ["werkzeug.socket"]
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.shutdown(socket.SHUT_RDWR)  # close() would wait for werkzeug's own file objects
            return Response("", 500)  # never reaches the client

        @app.get("/openapi.json")
        def openapi() -> Any:
            if self.mode in JWT_MODES:
                return jsonify({**OPENAPI, "paths": {**OPENAPI["paths"], **RECENT_PATHS}})
            return jsonify(OPENAPI)

        @app.get("/login")
        def login() -> Any:
            return "<html><body>Sign in</body></html>"

        def company() -> str:
            return str(request.environ["helpdesk.company"])

        def ticket_in() -> dict[str, Any] | str:
            """The request's ticket, or what is wrong with it."""
            payload = request.get_json(silent=True)
            if not isinstance(payload, dict) or not isinstance(payload.get("title"), str):
                return "title is required"
            if len(payload["title"]) < TITLE_MIN:
                return f"title must be at least {TITLE_MIN} characters"
            return payload

        def agent() -> str:
            return str(request.environ["helpdesk.agent"])

        def position(cursor: str) -> tuple[str, int] | None:
            """(company, last ticket) a cursor names, None if it is not one of ours."""
            try:
                decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
                return str(decoded["company"]), int(decoded["after"])
            except (ValueError, KeyError, TypeError):
                return None

        @app.get("/api/tickets")
        def list_tickets() -> Any:
            limit = request.args.get("limit", 50, type=int)
            if not 1 <= limit <= PAGE_MAX:
                return jsonify(error=f"limit must be between 1 and {PAGE_MAX}"), 422
            listed, after = company(), 0
            if cursor := request.args.get("cursor"):
                continued = position(cursor)
                if continued is None:
                    return jsonify(error="invalid cursor"), 400
                if continued[0] != company() and self.mode != "cursor_trusts_company":
                    return jsonify(error="this cursor belongs to another query"), 400
                listed, after = continued
            sql = "select * from tickets where company = ? and pk > ? order by pk limit ?"
            rows = self._query(sql, listed, after, limit + 1)
            page = rows[:limit]
            next_cursor = None
            if len(rows) > limit:
                continued_at = json.dumps({"company": listed, "after": page[-1]["pk"]}).encode()
                next_cursor = base64.urlsafe_b64encode(continued_at).decode()
            return jsonify(tickets=[self._public(row) for row in page], next_cursor=next_cursor)

        def recent_tickets() -> Any:
            mine = "v.agent = ?" if self.mode == "recent_by_user" else "v.company = ? and v.agent = ?"
            args = (agent(),) if self.mode == "recent_by_user" else (company(), agent())
            rows = self._query(
                f"select t.* from views v join tickets t on t.pk = v.ticket_pk where {mine}"
                " group by t.pk order by max(v.rowid) desc limit ?",
                *args,
                RECENT_MAX,
            )
            return jsonify(recent=[self._public(row) for row in rows])

        if self.mode in JWT_MODES:
            app.add_url_rule("/api/me/recent", view_func=recent_tickets, methods=["GET"])

        @app.post("/api/tickets")
        def open_ticket() -> Any:
            payload = ticket_in()
            if isinstance(payload, str):
                return jsonify(error=payload), 422
            public_id = "tk_" + secrets.token_hex(6)
            self._query(
                "insert into tickets (public_id, company, title, body, priority) values (?, ?, ?, ?, ?)",
                public_id,
                company(),
                payload["title"],
                payload.get("body"),
                payload.get("priority", "normal"),
            )
            if self.mode == "no_id":
                return "", 201
            row = self._query("select * from tickets where public_id = ?", public_id)[0]
            return jsonify(self._public(row)), 201

        def find(ticket_id: str, scoped: bool = True) -> sqlite3.Row | None:
            key = self._key_column()
            if scoped:
                rows = self._query(f"select * from tickets where {key} = ? and company = ?", ticket_id, company())
            else:
                rows = self._query(f"select * from tickets where {key} = ?", ticket_id)
            return rows[0] if rows else None

        @app.get("/api/tickets/<ticket_id>")
        def get_ticket(ticket_id: str) -> Any:
            row = find(ticket_id)
            if row is None and self.mode in ("crash_foreign", "reset_foreign") and find(ticket_id, scoped=False):
                # Another company's ticket trips code that assumed the caller's: a crash only a foreign id provokes.
                return reset_connection() if self.mode == "reset_foreign" else (jsonify(error="internal error"), 500)
            if row is not None:
                self._query(
                    "insert into views (company, agent, ticket_pk) values (?, ?, ?)", company(), agent(), row["pk"]
                )
            return (jsonify(self._public(row)), 200) if row else (jsonify(error="no such ticket"), 404)

        @app.put("/api/tickets/<ticket_id>")
        def update_ticket(ticket_id: str) -> Any:
            payload = ticket_in()
            if isinstance(payload, str):
                return jsonify(error=payload), 422
            row = find(ticket_id, scoped=self.mode != "update_leak")
            if row is None:
                return jsonify(error="no such ticket"), 404
            sql = "update tickets set title = ?, body = ? where pk = ?"
            self._query(sql, payload["title"], payload.get("body"), row["pk"])
            return jsonify(self._public(find(ticket_id, scoped=False) or row)), 200

        @app.delete("/api/tickets/<ticket_id>")
        def close_ticket(ticket_id: str) -> Any:
            row = find(ticket_id)
            if row is None:
                return jsonify(error="no such ticket"), 404
            self._query("delete from tickets where pk = ?", row["pk"])
            return "", 204

        return app


def profile(base_url: str, mode: str = "secure") -> dict[str, Any]:
    """The profile a user writes for this app in ``mode``: ``targets/examples/helpdesk.yaml``, or
    ``helpdesk-jwt.yaml`` for single sign-on, whose secret the harness reads from ``JWT_SECRET_ENV``."""
    return example_profile("helpdesk-jwt" if mode in JWT_MODES else "helpdesk", base_url)
