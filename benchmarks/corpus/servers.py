"""Install a corpus release into its own cached virtualenv, start it on loopback, stop it.

Example::

    venv = install(entry, release, cache_dir, uv)          # reused when its pins have not changed
    with running(entry, release, venv, workdir) as server:  # fresh data dir, free port
        server.base_url, server.variables
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from entries import Entry, Release

from tenantprobe.child import Child, wait_ready
from tenantprobe.errors import TenantProbeError

CORPUS = Path(__file__).resolve().parent
DEFAULT_CACHE = Path.home() / ".cache" / "tenantprobe" / "corpus"
LOG_TAIL = 30


class CorpusError(TenantProbeError, RuntimeError):
    """A corpus release could not be installed or started; the message says which and why."""


@dataclass(frozen=True)
class Server:
    base_url: str
    data: Path
    log: Path
    variables: dict[str, str]  # what the start templates used; the admin credentials among them


def _tail(path: Path, lines: int = LOG_TAIL) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def install(entry: Entry, release: Release, cache_dir: Path, uv: Path) -> Path:
    """The release's virtualenv under ``cache_dir``, created and filled once per set of pins."""
    venv = cache_dir / f"{entry.name}-{release.version}"
    stamp = venv / ".corpus-pins.json"
    pins = [pin.format(corpus=CORPUS) for pin in release.pins]
    wanted = json.dumps(pins)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        return venv
    log = cache_dir / f"{entry.name}-{release.version}.install.log"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        for command in (
            [str(uv), "venv", "--quiet", "--clear", "--python", entry.python, str(venv)],
            [str(uv), "pip", "install", "--python", str(venv / "bin" / "python"), *pins],
        ):
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise CorpusError(
                    f"{entry.name} {release.version}: `{' '.join(command)}` exited {done.returncode}; "
                    f"last lines of {log}:\n{_tail(log)}"
                )
    stamp.write_text(wanted, encoding="utf-8")
    return venv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a loopback URL we built
            status: int = response.status
            return 200 <= status < 300
    except (urllib.error.URLError, OSError):
        return False


def _setup(entry: Entry, release: Release, command: list[str], data: Path, env: dict[str, str]) -> None:
    log = data / "setup.log"
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        try:
            done = subprocess.run(
                command,
                cwd=data,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=entry.start_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CorpusError(
                f"{entry.name} {release.version}: set-up `{command[0]}` still running after "
                f"{entry.start_timeout:.0f} s; last lines of {log}:\n{_tail(log)}"
            ) from None
    if done.returncode != 0:
        raise CorpusError(
            f"{entry.name} {release.version}: set-up `{' '.join(command)}` exited {done.returncode}; "
            f"last lines of {log}:\n{_tail(log)}"
        )


@contextmanager
def running(entry: Entry, release: Release, venv: Path, workdir: Path) -> Iterator[Server]:
    """Start the release with an empty data dir on a free loopback port; stop it on exit, Ctrl-C included."""
    data = workdir / f"{entry.name}-{release.version}"
    data.mkdir(parents=True)
    (data / "artifacts").mkdir()
    port = free_port()
    variables = {
        "corpus": str(CORPUS),
        "python": str(venv / "bin" / "python"),
        "venv": str(venv),
        "port": str(port),
        "data": str(data),
        "secret": secrets.token_hex(32),
        "admin_user": "corpus-admin",
        "admin_password": secrets.token_hex(12),  # hex: safe as a command-line word
    }
    for name, template in entry.files.items():
        (data / name).write_text(template.format(**variables), encoding="utf-8")
    env = {**os.environ, **{key: value.format(**variables) for key, value in entry.env.items()}}
    for template in entry.setup:
        _setup(entry, release, [word.format(**variables) for word in shlex.split(template)], data, env)
    command = [word.format(**variables) for word in shlex.split(entry.command)]
    log = data / "server.log"
    base_url = f"http://127.0.0.1:{port}"
    # Its whole process group is stopped (MLflow forks uvicorn), TERM first, then KILL.
    server = Child(f"{entry.name} {release.version}", command, log, env=env, cwd=data, error=CorpusError).start()
    try:
        url = base_url + entry.ready_path
        wait_ready([server], lambda: _ready(url), entry.start_timeout, what=url, interval=0.5)
        yield Server(base_url, data, log, variables)
    finally:
        server.stop()
