"""The ``docker compose`` command for ``launch.compose``: the user's, or the plugin ``build_compose.sh`` built.

testcontainers' ``DockerCompose`` runs ``docker compose`` (Compose v2: ``ps --format json``). A docker CLI
without it (Debian's ``docker.io`` has none, and Compose v1's ``docker-compose`` lacks ``ps --format
json``) gets the plugin from ``build_compose.sh``'s cache through a private ``DOCKER_CONFIG`` whose
``cli-plugins`` holds it; the user's ``config.json`` and contexts are linked in, so nothing else changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tenantprobe.errors import ProvisioningError

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build_compose.sh"


def _has_compose(docker: str, env: dict[str, str] | None = None) -> bool:
    try:
        result = subprocess.run([docker, "compose", "version"], capture_output=True, env=env, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def plugin_path(build: bool) -> Path | None:
    """The cached Compose plugin; built first (minutes, once) when ``build``, else ``None`` when missing."""
    if not build and subprocess.run(["bash", str(BUILD_SCRIPT), "--check"], check=False).returncode != 0:
        return None
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise ProvisioningError(
            f"{BUILD_SCRIPT} failed with exit code {proc.returncode} (its messages are above); it needs Go >= 1.24 "
            "and the Go module proxy. Or install Docker Compose v2 (the 'docker compose' CLI plugin)"
        )
    return Path(proc.stdout.strip().splitlines()[-1])


def _user_config_dir() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def compose_command(workdir: Path, build: bool = False) -> str:
    """A ``docker`` command whose ``compose`` is Compose v2, for ``DockerCompose(docker_command_path=...)``.

    The user's docker CLI when it has Compose v2; else a wrapper in ``workdir`` that runs it with a private
    ``DOCKER_CONFIG`` holding the cached plugin (built now when ``build``, as the test set-up does).
    """
    docker = shutil.which("docker")
    if docker is None:
        raise ProvisioningError(
            "launch.compose needs the docker CLI with Compose v2 ('docker compose'); install the docker CLI "
            "(Debian: the 'docker.io' package) and the Compose plugin"
        )
    if _has_compose(docker):
        return docker
    plugin = plugin_path(build)
    if plugin is None:
        raise ProvisioningError(
            f"launch.compose: '{docker} compose' is not there (Compose v2 is needed; Compose v1's docker-compose "
            f"lacks 'ps --format json'). Install the Docker Compose plugin, or build it once with {BUILD_SCRIPT} "
            "(needs Go and the Go module proxy; minutes)"
        )
    config = workdir / "docker-config"
    (config / "cli-plugins").mkdir(parents=True, exist_ok=True)
    (config / "cli-plugins" / "docker-compose").symlink_to(plugin)
    user = _user_config_dir()
    for name in ("config.json", "contexts"):  # credentials and contexts stay the user's
        if (user / name).exists():
            (config / name).symlink_to(user / name)
    wrapper = workdir / "docker"
    wrapper.write_text(f'#!/bin/sh\nDOCKER_CONFIG="{config}" exec "{docker}" "$@"\n')
    wrapper.chmod(0o755)
    if not _has_compose(str(wrapper)):
        raise ProvisioningError(f"{plugin} does not run as '{docker} compose'; remove it so that it is built again")
    return str(wrapper)
