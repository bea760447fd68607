"""Target (c) of ``isolation_overhead.py``: a bare ASGI callable and psycopg, no framework.

The floor for this read on this stack: uvicorn (same server, same flags), one pooled autocommit
``SELECT`` of the single-tenant copy (the same statement as target (b)), ``json.dumps``. No
FastAPI, no pydantic, no JWT verification, no logging set-up. It answers ``GET /healthz`` and
``GET /v1/notes/{uuid}`` with the same JSON document as the reference app.

    BENCH_SINGLE_TENANT_DSN=... python benchmarks/_raw_app.py --port 8002 [--workers 2]

With ``--workers N``, N uvicorn processes share the socket: the ceiling of N API processes.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from uuid import UUID

from _single_tenant import SINGLE_TENANT_DSN_ENV, SINGLE_TENANT_GET, single_tenant_pool

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PREFIX = "/v1/notes/"
_JSON = [(b"content-type", b"application/json")]


class RawApp:
    def __init__(self, dsn: str) -> None:
        self.pool = single_tenant_pool(dsn, "raw")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            status, body = await self._handle(scope["method"], scope["path"])
            headers = [*_JSON, (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

    async def _handle(self, method: str, path: str) -> tuple[int, bytes]:
        if method != "GET":
            return 405, b'{"title":"Method not allowed"}'
        if path == "/healthz":
            return 200, b'{"status":"ok"}'
        if not path.startswith(PREFIX):
            return 404, b'{"title":"Not found"}'
        try:
            note_id = UUID(path[len(PREFIX) :])
        except ValueError:
            return 422, b'{"title":"Invalid input"}'
        async with self.pool.connection() as conn:
            cursor = await conn.execute(SINGLE_TENANT_GET, {"id": note_id})
            row = await cursor.fetchone()
        if row is None:
            return 404, b'{"title":"Not found"}'
        document = {
            "id": str(row["id"]),
            "title": row["title"],
            "body": row["body"],
            "author": row["author"],
            "tags": row["tags"],
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(),
        }
        return 200, json.dumps(document, separators=(",", ":")).encode()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.pool.open(wait=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app() -> RawApp:
    return RawApp(os.environ[SINGLE_TENANT_DSN_ENV])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    options: dict[str, Any] = {"host": args.host, "port": args.port, "log_level": "warning", "access_log": False}
    if args.workers == 1:
        uvicorn.run(create_app(), **options)
    else:  # each worker imports this file as _raw_app (its directory is on the workers' sys.path)
        uvicorn.run("_raw_app:create_app", factory=True, workers=args.workers, **options)


if __name__ == "__main__":
    main()
