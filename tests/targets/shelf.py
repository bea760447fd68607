"""Book shelves in Flask: the tenant is named by the URL, a ``/t/<library>`` prefix or a ``<library>.`` subdomain.

A library signs up at ``POST /signup`` and gets a bearer token. Its books live at ``/books``
under its URL (``/t/<library>/books/7`` or ``Host: <library>.localhost``), and the OpenAPI
document lists the paths without the prefix (a prefix is deployment, not API, says the team).
Ids are integers. Modes:

- ``secure``: the library in the URL must be the token's;
- ``trusts_url``: the token only proves who is calling; the URL alone says whose shelf it is.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Flask, g, jsonify, request
from flask.typing import ResponseReturnValue

from tests.targets import BUILDING, bearer_document, example_profile
from tests.targets.store import SqliteStore

MODES = ("secure", "trusts_url")
ROUTINGS = ("prefix", "host")
BOOK_IN = {
    "type": "object",
    "required": ["title"],
    "properties": {"title": {"type": "string", "maxLength": 200}, "author": {"type": "string"}},
}
BOOK_ID = {"name": "book_id", "in": "path", "required": True, "schema": {"type": "integer"}}
OPENAPI = bearer_document(
    "Shelf",
    "1.4",
    {
        "/signup": {
            "post": {
                "security": [],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"library": {"type": "string"}}}
                        }
                    }
                },
                "responses": {"201": {"description": "the library and its token"}},
            }
        },
        "/books": {
            "get": {"responses": {"200": {"description": "books"}}},
            "post": {
                "requestBody": {"content": {"application/json": {"schema": BOOK_IN}}},
                "responses": {"201": {"description": "created"}},
            },
        },
        "/books/{book_id}": {
            "parameters": [BOOK_ID],
            "get": {"responses": {"200": {"description": "a book"}}},
            "put": {
                "requestBody": {"content": {"application/json": {"schema": BOOK_IN}}},
                "responses": {"200": {"description": "replaced"}},
            },
            "delete": {"responses": {"204": {"description": "deleted"}}},
        },
    },
)
SCHEMA = """
CREATE TABLE library (name TEXT PRIMARY KEY, token TEXT UNIQUE NOT NULL);
CREATE TABLE book (id INTEGER PRIMARY KEY AUTOINCREMENT, library TEXT NOT NULL, title TEXT NOT NULL, author TEXT);
"""


class Shelf:
    """One app with its own database; ``app`` is the WSGI callable."""

    def __init__(self, mode: str = "secure", routing: str = "prefix") -> None:
        if mode not in MODES or routing not in ROUTINGS:
            raise ValueError(f"unknown shelf mode {mode!r} or routing {routing!r}: {MODES}, {ROUTINGS}")
        self.mode, self.routing = mode, routing
        self.db = SqliteStore(SCHEMA)
        with BUILDING:
            self.app = self._build()

    def _build(self) -> Flask:
        app = Flask(__name__)
        app.add_url_rule("/openapi.json", view_func=lambda: jsonify(OPENAPI))
        app.add_url_rule("/signup", view_func=self.signup, methods=["POST"])
        shelf = Blueprint("shelf", __name__, url_prefix="/t/<library>" if self.routing == "prefix" else None)
        shelf.url_value_preprocessor(lambda _, values: g.setdefault("named", (values or {}).pop("library", None)))
        shelf.before_request(self.library)
        shelf.add_url_rule("/books", view_func=self.books, methods=["GET", "POST"])
        shelf.add_url_rule("/books/<int:book_id>", view_func=self.book, methods=["GET", "PUT", "DELETE"])
        app.register_blueprint(shelf)
        return app

    def signup(self) -> ResponseReturnValue:
        name = f"{(request.get_json(silent=True) or {}).get('library', 'lib')}-{secrets.token_hex(3)}".lower()
        token = secrets.token_urlsafe(24)
        self.db.query("INSERT INTO library (name, token) VALUES (?, ?)", name, token)
        return jsonify(library=name, token=token), 201

    def library(self) -> ResponseReturnValue | None:
        """The library whose shelf this is: the URL's, checked against the token's unless the mode trusts the URL."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        rows = self.db.query("SELECT name FROM library WHERE token = ?", token)
        if not rows:
            return jsonify(error="unauthorized"), 401
        named = g.named if self.routing == "prefix" else request.host.split(":")[0].split(".")[0]
        if named != rows[0]["name"] and self.mode == "secure":
            return jsonify(error="not found"), 404
        g.library = named
        return None

    def books(self) -> ResponseReturnValue:
        if request.method == "GET":
            rows = self.db.query("SELECT * FROM book WHERE library = ?", g.library)
            return jsonify(books=[dict(row) for row in rows])
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("title"), str):
            return jsonify(error="title is required"), 400
        row = self.db.query(
            "INSERT INTO book (library, title, author) VALUES (?, ?, ?) RETURNING *",
            g.library,
            body["title"],
            body.get("author"),
        )[0]
        return jsonify(dict(row)), 201

    def book(self, book_id: int) -> ResponseReturnValue:
        rows = self.db.query("SELECT * FROM book WHERE id = ? AND library = ?", book_id, g.library)
        if not rows:
            return jsonify(error="not found"), 404
        if request.method == "DELETE":
            self.db.query("DELETE FROM book WHERE id = ?", book_id)
            return "", 204
        if request.method == "PUT":
            body = request.get_json(silent=True) or {}
            if not isinstance(body.get("title"), str):
                return jsonify(error="title is required"), 400
            self.db.query(
                "UPDATE book SET title = ?, author = ? WHERE id = ?", body["title"], body.get("author"), book_id
            )
            rows = self.db.query("SELECT * FROM book WHERE id = ?", book_id)
        return jsonify(dict(rows[0]))


def profile(base_url: str, routing: str = "prefix") -> dict[str, Any]:
    """The profile a user writes: ``targets/examples/shelf.yaml`` (prefix) or ``shelf-subdomain.yaml`` (host)."""
    return example_profile("shelf" if routing == "prefix" else "shelf-subdomain", base_url)
