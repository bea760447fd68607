"""DRF token authentication against an app instance's own token table (its own module, as DRF settings import it)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

BOARD = "orgboard.board"  # the WSGI environ key under which each request finds its app instance


def board(request: Request) -> Any:
    """The app instance serving this request (``app.Orgboard``)."""
    return request.META[BOARD]


class Member:
    """``request.user``: a signed-in person."""

    is_authenticated = True

    def __init__(self, username: str) -> None:
        self.username = username


class TokenAuth(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Member, str] | None:
        keyword, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if keyword != self.keyword:
            return None
        username = board(request).tokens.get(key)
        if username is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return Member(username), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
