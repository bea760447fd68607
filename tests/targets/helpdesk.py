"""A helpdesk API in Flask + SQLite: tenants are companies, tickets belong to one, static API tokens.

Written the way a small team writes a Flask app (sqlite3, a hand-written OpenAPI document, a
bearer-token lookup table), not the way the reference app is. ``Helpdesk(mode)`` serves the
secure app, one seeded isolation bug, or one of the behaviours that fool a careless harness:

- ``secure``: every query is scoped by the token's company;
- ``update_leak``: ``PUT /api/tickets/<id>`` updates by id alone, behind a ``minLength`` rule;
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

import secrets
import socket
import sqlite3
import struct
import time
from typing import Any

from flask import Flask, Response, jsonify, redirect, request

from tests.targets import example_profile
from tests.targets.store import SqliteStore

MODES = (
    "secure",
    "update_leak",
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
TITLE_MIN = 40  # longer than a canary: a generator that ignores minLength gets 422 everywhere

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
            "get": {"operationId": "listTickets", "responses": {"200": {"description": "tickets"}}},
            "post": {
                "operationId": "openTicket",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TicketIn"}}},
                },
                "responses": {"201": {"description": "opened"}},
            },
        },
        "/api/tickets/{ticket_id}": {
            "parameters": [{"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"operationId": "getTicket", "responses": {"200": {"description": "a ticket"}}},
            "put": {
                "operationId": "updateTicket",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TicketIn"}}},
                },
                "responses": {"200": {"description": "updated"}},
            },
            "delete": {"operationId": "closeTicket", "responses": {"204": {"description": "closed"}}},
        },
    },
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
            " title text not null, body text, priority text)"
        )
        self._query = self._store.query
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
            if self.mode == "refuse_tokens" or token not in TOKENS:
                return jsonify(error="invalid token"), 401
            if request.method in ("POST", "PUT", "DELETE") and self.mode == "server_error_writes":
                return jsonify(error="database is read-only"), 500
            if request.method in ("POST", "PUT") and self.mode == "reject_bodies":
                return jsonify(error="unsupported body"), 422
            request.environ["helpdesk.company"] = TOKENS[token]
            return misbehave() if request.method == "GET" else None

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

        @app.get("/api/tickets")
        def list_tickets() -> Any:
            rows = self._query("select * from tickets where company = ? order by pk", company())
            return jsonify(tickets=[self._public(row) for row in rows])

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


def profile(base_url: str) -> dict[str, Any]:
    """The profile a user writes for this app: ``targets/examples/helpdesk.yaml``."""
    return example_profile("helpdesk", base_url)
