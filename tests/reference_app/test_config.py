"""Settings from REFERENCE_APP_* variables: every mistake names the variable and what it must hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reference_app.auth import generate_private_key_pem
from reference_app.config import DEFAULT_PLANS, PREFIX, ConfigError, Settings


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A complete environment of this process, and nothing else of the app's."""
    for name in [name for name in os.environ if name.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    (tmp_path / "key.pem").write_bytes(generate_private_key_pem())
    values = {
        PREFIX + "DATABASE_URL": "postgresql://app@127.0.0.1:1/x",
        PREFIX + "PLATFORM_DATABASE_URL": "postgresql://platform@127.0.0.1:1/x",
        PREFIX + "JWT_PRIVATE_KEY_FILE": str(tmp_path / "key.pem"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_settings_read_every_variable_and_keep_the_defaults(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PREFIX + "INTERNAL_URL", " http://127.0.0.1:8001/ ")
    monkeypatch.setenv(PREFIX + "PLAN_FREE", "rate=5,burst=5,notes=3")
    monkeypatch.setenv(PREFIX + "DB_POOL_SIZE", "")  # empty counts as unset
    monkeypatch.setenv(PREFIX + "DB_CONNECTIONS_PER_TENANT", "3")
    settings = Settings.from_env()
    assert settings.internal_url == "http://127.0.0.1:8001"
    assert (settings.plans["free"].rate, settings.plans["free"].burst, settings.plans["free"].notes) == (5, 5, 3)
    assert settings.plans["pro"] == DEFAULT_PLANS["pro"]
    assert (settings.db_pool_size, settings.db_connections_per_tenant, settings.environment) == (20, 3, "development")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DB_POOL_SIZE", "twenty", "REFERENCE_APP_DB_POOL_SIZE='twenty' must be an integer"),
        ("WORKER_POLL_SECONDS", "soon", "REFERENCE_APP_WORKER_POLL_SECONDS='soon' must be a number"),
        ("CACHE_TTL_SECONDS", "0", "REFERENCE_APP_CACHE_TTL_SECONDS=0 must be greater than 0"),
        ("ENV", "prod", "REFERENCE_APP_ENV='prod': expected 'development' or 'production'"),
        ("PLAN_FREE", "brust=3", "REFERENCE_APP_PLAN_FREE: 'brust=3' is not KEY=VALUE"),
        ("JWT_PRIVATE_KEY_FILE", "/no/such/key.pem", "REFERENCE_APP_JWT_PRIVATE_KEY_FILE=/no/such/key.pem: no such"),
        ("DATABASE_URL", None, "REFERENCE_APP_DATABASE_URL is not set"),
    ],
)
def test_a_bad_setting_is_named_with_its_variable(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, message: str
) -> None:
    if value is None:
        monkeypatch.delenv(PREFIX + variable)
    else:
        monkeypatch.setenv(PREFIX + variable, value)
    with pytest.raises(ConfigError) as error:
        Settings.from_env()
    assert message in str(error.value)


def test_the_development_secret_is_refused_in_production(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PREFIX + "ENV", "production")
    monkeypatch.setenv(PREFIX + "JWT_HS256_SECRET", "changethis")
    with pytest.raises(ConfigError, match="REFERENCE_APP_JWT_HS256_SECRET is the development default; set a real"):
        Settings.from_env()


def test_the_api_stops_on_a_bad_setting_with_one_line_and_no_traceback(environment: dict[str, str]) -> None:
    env = {**os.environ, PREFIX + "DB_POOL_SIZE": "twenty"}
    started = subprocess.run(
        [sys.executable, "-m", "reference_app", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode != 0
    assert "reference_app serve: REFERENCE_APP_DB_POOL_SIZE='twenty' must be an integer" in started.stderr
    assert "Traceback" not in started.stderr
