"""Start a target from container images for a run (the profile's ``launch:`` mapping), then remove it.

Containers are started with testcontainers on the host's network (a target listens on a free loopback
port chosen here, ``{port}``), in this order: a PostgreSQL dependency (``launch.postgres``), a one-shot
``setup`` command (migrations; a JSON object it prints fills ``{setup.KEY}``), extra ``services``
(workers, internal services), then the target, whose readiness URL is polled until it answers below
500. Every container carries this run's labels, so one that outlives a crashed or interrupted run is
removed by the next (:func:`remove_stale`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx

from tenantprobe.child import free_port
from tenantprobe.compose import compose_command
from tenantprobe.errors import ProfileError, TargetError
from tenantprobe.lifecycle import Service
from tenantprobe.profiles import ComposeSpec, LaunchSettings, PostgresSpec, ServiceSpec
from tenantprobe.redact import redact_text

LABEL_RUN = "io.tenantprobe.run"
LABEL_OWNER = "io.tenantprobe.owner-pid"
BUILTIN_PREFIX = "builtin:"
LOG_LINES = 40
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:[.:]([A-Za-z0-9_-]+))?\}")
# testcontainers' reaper (Ryuk) is an image from a registry; labels and remove_stale do its work here.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


def _start_time(pid: int) -> str | None:
    """When the process started, in clock ticks since boot (``/proc/PID/stat``); None where that is unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name before ")" may hold spaces


def owner_label() -> str:
    """A container's owner: this process by pid and start time, so that once it is gone a new process given
    the same pid is not taken for it."""
    started = _start_time(os.getpid())
    return f"{os.getpid()}:{started}" if started else str(os.getpid())


def _owner_alive(label: str) -> bool:
    pid, _, started = label.partition(":")
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        pass
    now = _start_time(int(pid))
    return not started or now is None or now == started


def remove_stale(client: docker.DockerClient) -> list[str]:
    """Remove launched containers whose harness process is gone (a crash, SIGKILL); returns their names."""
    removed = []
    for container in client.containers.list(all=True, filters={"label": LABEL_RUN}):
        if not _owner_alive(container.labels.get(LABEL_OWNER, "")):
            container.remove(force=True, v=True)
            removed.append(container.name)
    return removed


def leftovers(client: docker.DockerClient, run: str | None = None) -> list[str]:
    """Names of launched containers still there (of one run, or of any)."""
    label = f"{LABEL_RUN}={run}" if run else LABEL_RUN
    return [container.name for container in client.containers.list(all=True, filters={"label": label})]


def _tail(text: str, lines: int = LOG_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def failure_message(source: str, subject: str, what: str, log: str) -> str:
    """What a launch failure says: which container, what went wrong, its last log lines, what to check."""
    logs = redact_text(_tail(log)) or "(the container printed nothing)"
    return (
        f"{source}: launch: {subject} {what}; its last log lines:\n{logs}\n"
        f"Check launch.ready, launch.port and launch.timeout_seconds, or run the image by hand."
    )


def wait_http(
    url: str, deadline: float, timeout: float, exited: Callable[[], bool], failure: Callable[[str], str]
) -> None:
    """Poll ``url`` until it answers below 500; a container that ``exited`` or the deadline fails at once."""
    with httpx.Client(timeout=2) as http:  # one client for every poll (each new one builds a TLS context)
        while True:
            if exited():
                raise TargetError(failure(f"exited before {url} answered"))
            try:
                if http.get(url).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TargetError(failure(f"was not ready within {timeout:.0f} s ({url})"))
            time.sleep(0.2)


class Launch(Service["Launch"]):
    """The containers of one launched target.

    ``resolve_image`` turns ``builtin:NAME`` into a local image tag (built from this machine's files).

    Example::

        with Launch(settings, "profile.yaml") as launched:
            print(launched.base_url, launched.database_dsn)
    """

    def __init__(
        self,
        settings: LaunchSettings,
        source: str,
        resolve_image: Callable[[str], str] | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.source = source
        self.base_dir = base_dir or Path.cwd()  # where launch.compose.file is relative to
        self.run = secrets.token_hex(6)
        self.base_url = ""
        self.database_dsn: str | None = None
        self.values: dict[str, str] = {}
        self._resolve = resolve_image
        self._client: docker.DockerClient | None = None
        self._containers: list[Any] = []
        self._ports: dict[str, int] = {}
        self._images: dict[str, str] = {}
        self._compose: ComposeLaunch | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="tenantprobe-launch-"))
        self.key_file = self._workdir / "signing-key.pem"

    # ------------------------------------------------------------------ placeholders
    def render(self, text: str, where: str) -> str:
        """Fill ``{port}``, ``{port:NAME}``, ``{postgres.dsn}``, ``{setup.KEY}``, ``{key_file}``, ``{env:NAME}`` and
        ``{secret:NAME}`` (a random password, the same throughout the run)."""

        def one(match: re.Match[str]) -> str:
            kind, name = match.group(1), match.group(2)
            if kind == "port":
                return str(self._port(name or "target"))
            if kind == "env" and name:
                if name not in os.environ:
                    raise ProfileError(f"{self.source}: {where}: {match.group(0)} but {name} is not set")
                return os.environ[name]
            if kind == "secret" and name:
                return self.values.setdefault(f"secret.{name}", secrets.token_urlsafe(18))
            if kind == "key_file":
                self._write_key()
                return str(self.key_file)
            key = f"{kind}.{name}" if name else kind
            if key not in self.values:
                known = ", ".join(sorted(self.values)) or "none yet"
                raise ProfileError(
                    f"{self.source}: {where}: unknown placeholder {match.group(0)}; known here: {known}, "
                    "{port}, {port:NAME}, {key_file}, {env:NAME}, {secret:NAME}"
                )
            return self.values[key]

        return _PLACEHOLDER.sub(one, text)

    def _port(self, name: str) -> int:
        if name == "target" and self.settings.port:
            return self.settings.port
        return self._ports.setdefault(name, free_port())

    def _write_key(self) -> None:
        if self.key_file.exists():
            return
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.key_file.write_bytes(pem)
        # Read inside the container by whatever user its image runs as; the directory is ours alone.
        self.key_file.chmod(0o644)
        self._workdir.chmod(0o755)

    # ------------------------------------------------------------------ life cycle
    def start(self, dependencies_only: bool = False) -> Launch:
        """Start the containers; ``dependencies_only`` stops after PostgreSQL (a database for another launcher)."""
        self._client = docker.from_env()
        remove_stale(self._client)
        atexit.register(self.stop)
        try:
            self._start_all(dependencies_only)
        except BaseException:
            self.stop()
            raise
        return self

    def _image(self, name: str, where: str) -> str:
        if name not in self._images:
            self._images[name] = self._find_image(name, where)
        return self._images[name]

    def _find_image(self, name: str, where: str) -> str:
        if name.startswith(BUILTIN_PREFIX):
            if self._resolve is None:
                raise ProfileError(f"{self.source}: {where}: image {name!r} needs the local image builder")
            return self._resolve(name.removeprefix(BUILTIN_PREFIX))
        assert self._client is not None
        try:
            self._client.images.get(name)
        except docker.errors.ImageNotFound:
            # Checked here: a pull would wait on a registry that may not be reachable at all.
            raise ProfileError(
                f"{self.source}: {where}: image {name!r} is not in the container engine; build or load it "
                "first (docker build / docker load), or name an image that is there"
            ) from None
        return name

    def _start_all(self, dependencies_only: bool) -> None:
        settings = self.settings
        if settings.compose is not None:
            self._compose = ComposeLaunch(self, settings.compose)
            self._compose.start(time.monotonic() + settings.timeout_seconds)
            return
        # Images first (a builtin one may be built now): the readiness timeout is the containers' alone.
        if settings.postgres is not None:
            self._image(settings.postgres.image, "launch.postgres.image")
        if not dependencies_only:
            for spec in (settings.setup, *settings.services):
                if spec is not None:
                    self._image(spec.image or settings.image, f"launch.{spec.name}.image")
            self._image(settings.image, "launch.image")
        deadline = time.monotonic() + settings.timeout_seconds
        if settings.postgres is not None:
            self._start_postgres(settings.postgres, deadline)
        if dependencies_only:
            return
        if settings.setup is not None:
            self._run_setup(settings.setup, deadline)
        for service in settings.services:
            self._start(service, deadline)
        target = ServiceSpec("target", settings.command, settings.env, settings.image, settings.ready)
        self.base_url = f"http://127.0.0.1:{self._port('target')}"
        self._start(target, deadline)

    def _container(self, spec: ServiceSpec, where: str) -> Any:
        from testcontainers.core.container import DockerContainer

        env = {key: self.render(value, f"{where}.env.{key}") for key, value in spec.env.items()}
        command = [self.render(arg, f"{where}.command") for arg in spec.command]
        volumes = [(str(self._workdir), str(self._workdir), "ro")] if self.key_file.exists() else []
        container = DockerContainer(
            self._image(spec.image or self.settings.image, f"{where}.image"),
            command=command or None,  # type: ignore[arg-type]  # a list is passed through to the engine
            env=env,
            volumes=volumes,
            name=f"tenantprobe-{self.run}-{spec.name}",
            network_mode="host",
            labels={LABEL_RUN: self.run, LABEL_OWNER: owner_label()},
        )
        self._containers.append(container)
        return container

    def _start(self, spec: ServiceSpec, deadline: float) -> None:
        where = "launch" if spec.name == "target" else f"launch.services.{spec.name}"
        container = self._container(spec, where)
        container.start()
        if spec.ready is not None:
            url = self.render(spec.ready, f"{where}.ready")
            if url.startswith("/"):
                url = (self.base_url if spec.name == "target" else "http://127.0.0.1") + url
            self._wait_http(container, spec.name, url, deadline)

    def _wait_http(self, container: Any, name: str, url: str, deadline: float) -> None:
        def exited() -> bool:
            container.reload()
            return container.status in ("exited", "dead")

        wait_http(
            url, deadline, self.settings.timeout_seconds, exited, lambda what: self._failure(container, name, what)
        )

    def _failure(self, container: Any, name: str, what: str) -> str:
        stdout, stderr = container.get_logs()
        return failure_message(
            self.source, f"the {name} container ({container.image})", what, (stdout + stderr).decode(errors="replace")
        )

    def _start_postgres(self, spec: PostgresSpec, deadline: float) -> None:
        import psycopg

        password = secrets.token_urlsafe(18)
        port = self._port("postgres")
        service = ServiceSpec("postgres", (), {"POSTGRES_PASSWORD": password, "PGPORT": str(port)}, spec.image)
        container = self._container(service, "launch.postgres")
        container.start()
        base = f"postgresql://postgres:{password}@127.0.0.1:{port}"
        while True:
            try:
                with psycopg.connect(f"{base}/postgres", connect_timeout=2):
                    break
            except psycopg.OperationalError:
                container.reload()
                if container.status in ("exited", "dead") or time.monotonic() > deadline:
                    raise TargetError(self._failure(container, "postgres", "did not accept connections")) from None
                time.sleep(0.2)
        self.database_dsn = f"{base}/{spec.database}"
        self.values.update(
            {
                "postgres.dsn": f"{base}/postgres",
                "postgres.host": "127.0.0.1",
                "postgres.port": str(port),
                "postgres.password": password,
                "postgres.user": "postgres",
            }
        )

    def _run_setup(self, spec: ServiceSpec, deadline: float) -> None:
        container = self._container(spec, "launch.setup")
        container.start()
        code = container.get_wrapped_container().wait(timeout=max(1.0, deadline - time.monotonic()))
        if code.get("StatusCode") != 0:
            raise TargetError(self._failure(container, "setup", f"exited with status {code.get('StatusCode')}"))
        stdout, _ = container.get_logs()
        try:
            output = json.loads(stdout.decode(errors="replace").strip().splitlines()[-1])
        except (ValueError, IndexError):
            output = None
        if isinstance(output, dict):
            self.values.update({f"setup.{key}": str(value) for key, value in output.items()})

    def logs(self) -> dict[str, str]:
        """Each container's log, by service name (written next to result records at the end)."""
        found = self._compose.logs() if self._compose is not None else {}
        for container in self._containers:
            try:
                stdout, stderr = container.get_logs()
            except (docker.errors.DockerException, RuntimeError):
                continue
            found[container._name.rsplit("-", 1)[-1]] = (stdout + stderr).decode(errors="replace")
        return found

    def stop(self) -> None:
        """Remove every container of this launch (also from atexit, after a crash or Ctrl-C)."""
        if self._compose is not None:
            self._compose.stop()
            self._compose = None
        for container in reversed(self._containers):
            try:
                container.stop()
            except docker.errors.NotFound:
                pass
            except docker.errors.DockerException:
                pass  # the engine is gone; remove_stale clears the rest next time
        self._containers.clear()
        if self._client is not None:
            self._client.close()
            self._client = None
        atexit.unregister(self.stop)
        shutil.rmtree(self._workdir, ignore_errors=True)


class ComposeLaunch:
    """``launch.compose``: the compose file's services for one run, through testcontainers' ``DockerCompose``.

    The file's ``${VAR}``s come from ``launch.compose.env`` (an env file of this run); an override file of
    this run names the project ``tenantprobe-RUN`` and labels every service like :class:`Launch`'s
    containers, so :func:`leftovers` and :func:`remove_stale` see them too. ``down --volumes`` removes them.
    """

    def __init__(self, launch: Launch, spec: ComposeSpec) -> None:
        self.launch = launch
        self.spec = spec
        self.file = (launch.base_dir / spec.file).resolve()
        self.services: list[str] = []
        self._compose: Any = None

    def _where(self, key: str) -> str:
        return f"launch.compose.{key}"

    def _env_file(self) -> Path:
        lines = []
        for key, raw in self.spec.env.items():
            if raw.startswith(BUILTIN_PREFIX):
                value = self.launch._image(raw, self._where(f"env.{key}"))
            else:
                value = self.launch.render(raw, self._where(f"env.{key}"))
            if "'" in value or "\n" in value:
                raise ProfileError(
                    f"{self.launch.source}: {self._where(f'env.{key}')}: a value with a quote or a line break cannot "
                    "go through the compose env file; pass it another way (a file, or env: in the compose file)"
                )
            lines.append(f"{key}='{value}'")  # single quotes: compose takes the value as it is
        path = self.launch._workdir / "compose.env"
        path.touch(mode=0o600)
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, deadline: float) -> None:
        from testcontainers.compose import DockerCompose

        source = self.launch.source
        if not self.file.is_file():
            raise ProfileError(f"{source}: {self._where('file')}: no such file {self.file}")
        env_files = [str(path) for path in (self.file.parent / ".env",) if path.is_file()]
        env_files.append(str(self._env_file()))
        command = compose_command(self.launch._workdir)
        files = [str(self.file)]
        self.services = self._run(command, files, env_files, "config", "--services").split()
        if self.spec.service not in self.services:
            raise ProfileError(
                f"{source}: {self._where('service')}: {self.spec.service!r} is not a service of {self.file}; "
                f"its services: {', '.join(self.services) or 'none'}"
            )
        files.append(str(self._override()))
        self._compose = compose = DockerCompose(
            context=self.file.parent,
            compose_file_name=files,
            env_file=env_files,
            wait=False,
            docker_command_path=command,
        )
        try:
            compose.start()
        except subprocess.CalledProcessError as exc:
            raise TargetError(
                f"{source}: launch.compose: docker compose up failed for {self.file}:\n"
                f"{redact_text(_tail(exc.stderr.decode(errors='replace')))}"
            ) from None
        settings = self.launch.settings
        self.launch.base_url = f"http://127.0.0.1:{self.launch._port('target')}"
        url = self.launch.render(settings.ready, "launch.ready")
        if url.startswith("/"):
            url = self.launch.base_url + url
        wait_http(url, deadline, settings.timeout_seconds, self._exited, self._failure)
        if self.spec.dsn:
            self.launch.database_dsn = self.launch.render(self.spec.dsn, self._where("dsn"))

    def _run(self, command: str, files: list[str], env_files: list[str], *args: str) -> str:
        argv = [command, "compose", *(f for path in files for f in ("-f", path))]
        argv += [f for path in env_files for f in ("--env-file", path)]
        result = subprocess.run([*argv, *args], capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            raise ProfileError(
                f"{self.launch.source}: launch.compose.file: docker compose cannot read {self.file}:\n"
                f"{redact_text(_tail(result.stderr))}"
            )
        return result.stdout

    def _override(self) -> Path:
        labels = {LABEL_RUN: self.launch.run, LABEL_OWNER: owner_label()}
        override = {
            "name": f"tenantprobe-{self.launch.run}",
            "services": {name: {"labels": labels} for name in self.services},
        }
        path = self.launch._workdir / "compose.override.json"  # JSON is YAML: compose reads it
        path.write_text(json.dumps(override))
        return path

    def _exited(self) -> bool:
        container = self._compose.get_container(self.spec.service, include_all=True)
        return container.State in ("exited", "dead")

    def _failure(self, what: str) -> str:
        stdout, stderr = self._compose.get_logs(self.spec.service)
        return failure_message(
            self.launch.source, f"the {self.spec.service} service of {self.file.name}", what, stdout + stderr
        )

    def logs(self) -> dict[str, str]:
        """Each service's log (``docker compose logs SERVICE``), by service name."""
        found = {}
        for service in self.services if self._compose is not None else []:
            try:
                stdout, stderr = self._compose.get_logs(service)
            except (subprocess.CalledProcessError, OSError):
                continue
            found[service] = stdout + stderr
        return found

    def stop(self) -> None:
        """``docker compose down --volumes``: the containers, networks and volumes of this run go."""
        if self._compose is None:
            return
        # An engine that is gone leaves nothing to stop; remove_stale clears its containers next time.
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            self._compose.stop(down=True)
        self._compose = None
