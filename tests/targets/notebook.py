"""Per-user notebooks in Flask + SQLite: the tenant is the user, ids are integers, login is an OAuth2 form.

A user registers (``POST /auth/register``), gets a token from an OAuth2 password grant
(``POST /auth/token``, form-encoded), and keeps notes under ``/users/<username>/notes``. A
create answers ``{"note": {"id": 7, ...}}``. Modes:

- ``secure``: the path's username must be the caller's;
- ``owner_not_checked``: reads and updates by id check only that the note belongs to the
  username in the path, never that the caller is that user (a classic per-user IDOR);
- ``jwt``: the token endpoint issues HS256 JWTs (``sub`` is the username), verified on every request;
- ``jwt_claims_unverified``: the same JWTs, read with ``verify_signature: False`` ("the gateway
  checks signatures"), so a user who edits ``sub`` in its own token is someone else.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from typing import Any

import jwt
from flask import Flask, jsonify, request

from tests.targets import BUILDING, example_profile
from tests.targets.store import SqliteStore

MODES = ("secure", "owner_not_checked", "jwt", "jwt_claims_unverified")
JWT_MODES = ("jwt", "jwt_claims_unverified")

NOTE_IN = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "maxLength": 500}, "pinned": {"type": "boolean"}},
}
USER = {"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}
NOTE = {"name": "note_id", "in": "path", "required": True, "schema": {"type": "integer"}}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Notebook", "version": "0.9"},
    "components": {
        "securitySchemes": {
            "oauth2": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/auth/token", "scopes": {}}}}
        }
    },
    "security": [{"oauth2": []}],
    "paths": {
        "/auth/register": {
            "post": {
                "security": [],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                            }
                        }
                    }
                },
                "responses": {"201": {"description": "registered"}},
            }
        },
        "/users/{username}/notes": {
            "parameters": [USER],
            "get": {"responses": {"200": {"description": "notes"}}},
            "post": {
                "requestBody": {"content": {"application/json": {"schema": NOTE_IN}}},
                "responses": {"201": {"description": "created"}},
            },
        },
        "/users/{username}/notes/{note_id}": {
            "parameters": [USER, NOTE],
            "get": {"responses": {"200": {"description": "a note"}}},
            "patch": {
                "requestBody": {"content": {"application/json": {"schema": NOTE_IN}}},
                "responses": {"200": {"description": "updated"}},
            },
            "delete": {"responses": {"204": {"description": "deleted"}}},
        },
    },
}


class Notebook:
    """One app with its own in-memory database; ``app`` is the WSGI callable."""

    def __init__(self, mode: str = "secure") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown notebook mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self._store = SqliteStore(
            "create table users (username text primary key, password text not null);"
            "create table tokens (token text primary key, username text not null);"
            "create table notes (id integer primary key, owner text not null, text text not null, pinned int);"
        )
        self._query = self._store.query
        self._signing_key = secrets.token_bytes(32)
        with BUILDING:
            self.app = self._build()

    def _build(self) -> Flask:
        app = Flask("notebook")

        def caller() -> str | None:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if self.mode in JWT_MODES:
                verify = self.mode == "jwt"
                try:
                    claims = jwt.decode(
                        token, self._signing_key, algorithms=["HS256"], options={"verify_signature": verify}
                    )
                except jwt.PyJWTError:
                    return None
                subject = claims.get("sub")
                return subject if isinstance(subject, str) and "exp" in claims else None
            rows = self._query("select username from tokens where token = ?", token)
            return str(rows[0]["username"]) if rows else None

        def note_json(row: sqlite3.Row) -> dict[str, Any]:
            return {"id": row["id"], "text": row["text"], "pinned": bool(row["pinned"])}

        @app.get("/openapi.json")
        def openapi() -> Any:
            return jsonify(OPENAPI)

        @app.post("/auth/register")
        def register() -> Any:
            body = request.get_json(silent=True) or {}
            if not (isinstance(body.get("username"), str) and isinstance(body.get("password"), str)):
                return jsonify(detail="username and password are required"), 422
            if self._query("select 1 from users where username = ?", body["username"]):
                return jsonify(detail="taken"), 409
            self._query("insert into users values (?, ?)", body["username"], body["password"])
            return jsonify(username=body["username"]), 201

        @app.post("/auth/token")
        def token() -> Any:
            form = request.form
            rows = self._query("select password from users where username = ?", form.get("username", ""))
            if form.get("grant_type") != "password" or not rows or rows[0]["password"] != form.get("password"):
                return jsonify(error="invalid_grant"), 400
            if self.mode in JWT_MODES:
                now = int(time.time())
                claims = {"sub": form["username"], "iat": now, "exp": now + 3600}
                return jsonify(
                    access_token=jwt.encode(claims, self._signing_key, algorithm="HS256"), token_type="bearer"
                )
            issued = secrets.token_urlsafe(24)
            self._query("insert into tokens values (?, ?)", issued, form["username"])
            return jsonify(access_token=issued, token_type="bearer")

        def guard(username: str, by_id: bool) -> Any:
            """None when the caller may act on ``username``'s notes, else the refusal."""
            who = caller()
            if who is None:
                return jsonify(detail="not authenticated"), 401
            if who != username and not (by_id and self.mode == "owner_not_checked"):
                return jsonify(detail="not found"), 404
            return None

        @app.route("/users/<username>/notes", methods=["GET", "POST"])
        def notes(username: str) -> Any:
            if (refusal := guard(username, by_id=False)) is not None:
                return refusal
            if request.method == "GET":
                rows = self._query("select * from notes where owner = ? order by id", username)
                return jsonify([note_json(row) for row in rows])
            body = request.get_json(silent=True) or {}
            if not isinstance(body.get("text"), str):
                return jsonify(detail="text is required"), 422
            self._query("insert into notes (owner, text, pinned) values (?, ?, ?)", username, body["text"], 0)
            row = self._query("select * from notes where owner = ? order by id desc limit 1", username)[0]
            return jsonify(note=note_json(row)), 201

        @app.route("/users/<username>/notes/<int:note_id>", methods=["GET", "PATCH", "DELETE"])
        def note(username: str, note_id: int) -> Any:
            if (refusal := guard(username, by_id=True)) is not None:
                return refusal
            rows = self._query("select * from notes where id = ? and owner = ?", note_id, username)
            if not rows:
                return jsonify(detail="not found"), 404
            if request.method == "DELETE":
                self._query("delete from notes where id = ?", note_id)
                return "", 204
            if request.method == "PATCH":
                body = request.get_json(silent=True) or {}
                if not isinstance(body.get("text"), str):
                    return jsonify(detail="text is required"), 422
                self._query("update notes set text = ? where id = ?", body["text"], note_id)
                rows = self._query("select * from notes where id = ?", note_id)
            return jsonify(note_json(rows[0]))

        return app


def profile(base_url: str) -> dict[str, Any]:
    """The profile a user writes for this app: ``targets/examples/notebook.yaml``."""
    return example_profile("notebook", base_url)
