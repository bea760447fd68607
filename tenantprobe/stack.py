"""Start the reference app as a target: PostgreSQL, database set-up, and its three processes.

tenantprobe treats the reference app like any other target: it only runs its command line
(``python -m reference_app setup|serve|internal|worker``) and talks to it over HTTP, never
imports it. The API finds the internal search service through ``REFERENCE_APP_INTERNAL_URL``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import yaml

from tenantprobe.child import Child, NotReady, free_port, stop_all, wait_ready
from tenantprobe.errors import ProfileError, TargetError
from tenantprobe.lifecycle import Service
from tenantprobe.pgserver import PostgresServer

if TYPE_CHECKING:
    from tenantprobe.containers import DatabaseContainer

ADMIN_URL_ENV = "TENANTPROBE_ADMIN_DATABASE_URL"
DB_EMBEDDED, DB_CONTAINER = "embedded", "container"


def database_choice(value: str) -> str:
    """The PostgreSQL image ``--db`` asks for: '' for the embedded server, else an image (``builtin:postgres``
    for a bare ``container``)."""
    kind, _, image = value.partition(":")
    if value in ("", DB_EMBEDDED):
        return ""
    if kind != DB_CONTAINER:
        raise ProfileError(
            f"--db {value!r}: expected '{DB_EMBEDDED}' (the default), '{DB_CONTAINER}' (PostgreSQL in an image "
            f"built from the embedded binaries) or '{DB_CONTAINER}:IMAGE' (e.g. container:postgres:16)"
        )
    return image or "builtin:postgres"


@dataclass(frozen=True)
class RoleDsns:
    owner: str
    app: str
    platform: str


@dataclass
class ReferenceStack(Service["ReferenceStack"]):
    """The reference app and its database, for one run.

    ``database_url`` names a server to use (a superuser DSN); without it an embedded
    PostgreSQL is started, or one from an image when ``database_image`` says ``container[:IMAGE]``.
    ``dsns`` skips database set-up altogether and serves an already migrated database. ``faults``
    are passed through as ``REFERENCE_APP_FAULTS``.
    """

    database_url: str | None = None
    dsns: RoleDsns | None = None
    database_name: str = "pake"
    faults: tuple[str, ...] = ()
    port: int | None = None
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    database_image: str = ""

    def __post_init__(self) -> None:
        self._container_image = database_choice(self.database_image)
        self._database_container: DatabaseContainer | None = None
        self._server: PostgresServer | None = None
        self._children: dict[str, Child] = {}
        self._commands: dict[str, list[str]] = {}
        self._workdir = Path(tempfile.mkdtemp(prefix="tenantprobe-stack-"))
        self.key_file = self._workdir / "jwt-signing-key.pem"
        self.base_url = ""
        self.internal_url = ""

    def start(self, timeout: float = 60.0) -> ReferenceStack:
        if self.dsns is None:
            admin_url = self.database_url
            if admin_url is None and self._container_image:
                from tenantprobe.containers import DatabaseContainer

                self._database_container = DatabaseContainer(self._container_image)
                admin_url = self._database_container.start()
            elif admin_url is None:
                self._server = PostgresServer()
                admin_url = self._server.start().dsn()
            self.dsns = self._setup_database(admin_url)
        self._write_key()
        port = self.port or free_port()
        internal_port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.internal_url = f"http://127.0.0.1:{internal_port}"
        self._spawn("internal", ["internal", "--host", "127.0.0.1", "--port", str(internal_port)])
        self._spawn("api", ["serve", "--host", "127.0.0.1", "--port", str(port)])
        self._spawn("worker", ["worker"])
        self._wait_ready(timeout, {"internal": f"{self.internal_url}/healthz", "api": f"{self.base_url}/readyz"})
        return self

    def _setup_database(self, admin_url: str) -> RoleDsns:
        # Schema-level seeded faults (rls_disabled, app_role_bypassrls) are realised by set-up.
        env = {**os.environ, ADMIN_URL_ENV: admin_url, "REFERENCE_APP_FAULTS": ",".join(self.faults)}
        setup = subprocess.run(
            [
                sys.executable,
                "-m",
                "reference_app",
                "setup",
                "--admin-url-env",
                ADMIN_URL_ENV,
                "--database",
                self.database_name,
                "--recreate",
            ],
            capture_output=True,
            env=env,
            check=False,
        )
        if setup.returncode != 0:
            raise TargetError(f"reference app database set-up failed:\n{setup.stderr.decode(errors='replace')}")
        return RoleDsns(**json.loads(setup.stdout))

    def _write_key(self) -> None:
        if not self.key_file.exists():
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            self.key_file.chmod(0o600)

    @property
    def app_env(self) -> dict[str, str]:
        assert self.dsns is not None
        return {
            "REFERENCE_APP_DATABASE_URL": self.dsns.app,
            "REFERENCE_APP_PLATFORM_DATABASE_URL": self.dsns.platform,
            "REFERENCE_APP_JWT_PRIVATE_KEY_FILE": str(self.key_file),
            "REFERENCE_APP_FAULTS": ",".join(self.faults),
            "REFERENCE_APP_INTERNAL_URL": self.internal_url,
            **self.extra_env,
        }

    def _spawn(self, name: str, args: list[str]) -> None:
        log_dir = self.log_dir or self._workdir
        log_dir.mkdir(parents=True, exist_ok=True)
        self._commands[name] = args
        self._children[name] = Child(
            f"the reference app's {name} process",
            [sys.executable, "-m", "reference_app", *args],
            log_dir / f"{name}.log",
            env={**os.environ, **self.app_env},
        ).start()

    @property
    def database_server(self) -> PostgresServer | None:
        """The embedded PostgreSQL this stack started (None when it serves a database it was given)."""
        return self._server

    def kill(self, name: str) -> None:
        """SIGKILL one component (``api``, ``worker``, ``internal``): no shutdown code runs, as in a crash."""
        if name not in self._children:
            raise ValueError(f"no running component {name!r}; running: {', '.join(self._children) or 'none'}")
        self._children.pop(name).kill()

    def respawn(self, name: str, timeout: float = 60.0) -> None:
        """Start a component killed by :meth:`kill` again, with the same command, and wait until it serves."""
        if name in self._children:
            raise RuntimeError(f"the reference app's {name} process is still running; kill({name!r}) it first")
        self._spawn(name, self._commands[name])
        probes = {"api": f"{self.base_url}/readyz", "internal": f"{self.internal_url}/healthz"}
        self._wait_ready(timeout, {name: probes[name]} if name in probes else {})

    def pids(self) -> dict[str, list[int]]:
        """Running processes this stack started, by component (load runs sample their CPU and memory)."""
        found = {name: [child.pid] for name, child in self._children.items() if child.running}
        if self._server is not None and self._server.pid is not None:
            found["postgres"] = [self._server.pid]
        return found

    def running_profile(self, launching: Path, folder: Path) -> Path:
        """``launching`` (a profile that launches the reference app, as ``targets/reference.yaml``) as a user
        writes it for this stack once it serves: no ``launch``; its address, signing key, database and internal
        service filled in. Written to ``folder``/target.yaml, which only its owner may read (it holds a DSN)."""
        assert self.dsns is not None, "start() the stack first"
        profile = yaml.safe_load(launching.read_text())
        del profile["launch"]
        profile["base_url"] = self.base_url
        profile["auth"]["key_file"] = str(self.key_file)
        profile["database"]["dsn"] = self.dsns.app
        for service in profile["internal_services"]:
            service["url"] = self.internal_url
        path = folder / "target.yaml"
        path.touch(mode=0o600)
        path.chmod(0o600)  # one an earlier run left may have been readable by others
        path.write_text(yaml.safe_dump(profile))
        return path

    def log_text(self, name: str = "api") -> str:
        path = (self.log_dir or self._workdir) / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_ready(self, timeout: float, probes: dict[str, str]) -> None:
        waiting = dict(probes)
        # One client for every poll: a new one per poll builds a TLS context (30 ms of CPU) while the app starts.
        with httpx.Client(timeout=1) as http:

            def ready() -> bool:
                reasons = []
                for name, url in list(waiting.items()):
                    try:
                        if http.get(url).status_code == 200:
                            del waiting[name]
                    except httpx.TransportError as exc:
                        reasons.append(f"{name}: {exc}")
                if reasons:
                    raise NotReady("; ".join(reasons))
                return not waiting

            what = f"the reference app ({', '.join(waiting)})"
            try:
                wait_ready(list(self._children.values()), ready, timeout, what=what)
            except TargetError:
                self.stop()
                raise

    def stop(self) -> None:
        stop_all(list(self._children.values()))
        self._children.clear()
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._database_container is not None:
            self._database_container.stop()
            self._database_container = None
        # The work directory holds the JWT signing key: it must not outlive the run.
        shutil.rmtree(self._workdir, ignore_errors=True)
