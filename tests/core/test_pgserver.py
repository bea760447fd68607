"""The embedded PostgreSQL: starts on loopback, runs unprivileged, leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import psycopg
import pytest

from tenantprobe.errors import DatabaseError
from tenantprobe.pgserver import UNPRIVILEGED_USER, PostgresServer
from tests.conftest import one


def test_server_listens_on_loopback_and_stops_without_leftovers() -> None:
    server = PostgresServer()
    address = server.start()
    with psycopg.connect(address.dsn()) as conn:
        listen, data_dir = one(conn, "select current_setting('listen_addresses'), current_setting('data_directory')")
    postmaster = [p for p in psutil.process_iter(["cmdline"]) if data_dir in " ".join(p.info["cmdline"] or [])]
    assert listen == "127.0.0.1"
    assert postmaster
    if os.geteuid() == 0:
        assert postmaster[0].username() == UNPRIVILEGED_USER
    server.stop()
    assert not Path(data_dir).exists()
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in postmaster)


def test_wrong_password_is_refused() -> None:
    with PostgresServer() as server, pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(server.address.dsn(password="wrong"))


def test_missing_binaries_give_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TENANTPROBE_PG_BIN", str(tmp_path))
    with pytest.raises(DatabaseError, match="TENANTPROBE_PG_BIN"):
        PostgresServer().start()
