"""Serve a test target on a free loopback port for the length of a test, over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Hundreds of requests per run: the harness's own records say what happened."""


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app's base URL while the block runs: werkzeug for a WSGI app (Flask), uvicorn for an ASGI one."""
    if hasattr(app, "wsgi_app"):
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, name="test-target", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=5)
        return
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    asgi = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=asgi.run, kwargs={"sockets": [listener]}, name="test-target", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not asgi.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        asgi.should_exit = True
        thread.join(timeout=5)
        listener.close()
