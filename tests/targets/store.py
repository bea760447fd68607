"""An in-memory SQLite database shared by the request threads of one test app."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any


class SqliteStore:
    def __init__(self, schema: str) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.executescript(schema)

    def query(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        """Run one statement and commit: each request of these small apps is its own unit of work."""
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
            self._db.commit()
            return rows
