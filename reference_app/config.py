"""Settings, read once from the environment (``REFERENCE_APP_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PREFIX = "REFERENCE_APP_"
DEV_HS256_SECRET = "changethis"  # noqa: S105 - the value refused outside development


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable to change."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    platform_database_url: str
    jwt_private_key_file: Path
    jwt_issuer: str = "pake-dev"
    jwt_audience: str = "pake-api"
    jwt_hs256_secret: str | None = None
    environment: Literal["development", "production"] = "development"
    max_body_bytes: int = 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(PREFIX + name, "").strip()
            if not value:
                raise ConfigError(f"{PREFIX}{name} is not set; see the README for what it must hold")
            return value

        environment = env.get(PREFIX + "ENV", "development")
        if environment not in ("development", "production"):
            raise ConfigError(f"{PREFIX}ENV={environment!r}: expected 'development' or 'production'")
        secret = env.get(PREFIX + "JWT_HS256_SECRET") or None
        if environment == "production" and secret == DEV_HS256_SECRET:
            raise ConfigError(f"{PREFIX}JWT_HS256_SECRET is the development default; set a real secret")
        key_file = Path(required("JWT_PRIVATE_KEY_FILE"))
        if not key_file.is_file():
            raise ConfigError(f"{PREFIX}JWT_PRIVATE_KEY_FILE={key_file}: no such file")
        try:
            max_body = int(env.get(PREFIX + "MAX_BODY_BYTES", str(cls.max_body_bytes)))
        except ValueError:
            raise ConfigError(f"{PREFIX}MAX_BODY_BYTES must be an integer number of bytes") from None
        return cls(
            database_url=required("DATABASE_URL"),
            platform_database_url=required("PLATFORM_DATABASE_URL"),
            jwt_private_key_file=key_file,
            jwt_issuer=env.get(PREFIX + "JWT_ISSUER", cls.jwt_issuer),
            jwt_audience=env.get(PREFIX + "JWT_AUDIENCE", cls.jwt_audience),
            jwt_hs256_secret=secret,
            environment=environment,  # type: ignore[arg-type]
            max_body_bytes=max_body,
        )
