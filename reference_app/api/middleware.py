"""Response headers that describe the caller's rate limit (IETF RateLimit header fields)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_app.limits import Decision


class RateLimitHeadersMiddleware:
    """Adds ``RateLimit-Limit/Remaining/Reset`` to every response of a request that was charged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision = scope.get("state", {}).get("ratelimit")
                if isinstance(decision, Decision):
                    headers = MutableHeaders(scope=message)
                    headers["RateLimit-Limit"] = str(decision.limit)
                    headers["RateLimit-Remaining"] = str(decision.remaining)
                    headers["RateLimit-Reset"] = str(decision.reset_seconds)
            await send(message)

        await self.app(scope, receive, with_headers)
