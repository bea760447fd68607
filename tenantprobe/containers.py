"""A target started from container images for one run: the engine, the images, the containers.

Glue between the profile and :mod:`tenantprobe.launch`: finds the Docker API (:mod:`tenantprobe.engine`),
builds ``launch.build`` and the ``builtin:`` images (:mod:`tenantprobe.images`) when their content
changed, starts the containers (or a compose file's services), and fills the profile in from them:
``base_url``, ``auth.key_file`` when the launch minted the signing key (``{key_file}``), ``database.dsn``
from ``launch.postgres`` or ``launch.compose.dsn`` when the profile names none, and placeholders in
``internal_services`` URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path

import docker
import docker.errors

from tenantprobe.engine import Engine
from tenantprobe.errors import ProfileError, ProvisioningError
from tenantprobe.images import (
    LABEL,
    ImageFiles,
    build_lock,
    ensure_image,
    postgres_files,
    prune_images,
    python_files,
)
from tenantprobe.launch import BUILTIN_PREFIX, Launch
from tenantprobe.profiles import DatabaseSettings, LaunchSettings, PostgresSpec, TargetProfile
from tenantprobe.redact import redact_text


# The Python runtime image carries the dependencies of the installed tenantprobe (the locked set that
# the reference app also runs on), not tenantprobe itself: images copy their own sources in.
def _python_runtime() -> ImageFiles:
    return python_files(["tenantprobe[app]"], exclude=["tenantprobe"])  # the reference app's stack too


BUILTINS: dict[str, Callable[[], ImageFiles]] = {"postgres": postgres_files, "python": _python_runtime}


def builtin_image(client: docker.DockerClient, name: str) -> str:
    """The tag of a ``builtin:NAME`` image, built from this machine's files when its content changed."""
    if name not in BUILTINS:
        raise ProfileError(f"builtin:{name}: no such built-in image; choose one of {', '.join(sorted(BUILTINS))}")
    return ensure_image(client, _builtin_files(name))


@cache
def _builtin_files(name: str) -> ImageFiles:
    # Listing thousands of files takes seconds; within one process they do not change.
    return BUILTINS[name]()


def build_image(client: docker.DockerClient, settings: LaunchSettings, source: Path | None) -> None:
    """Build ``launch.build`` (a Containerfile and its context, relative to the profile) as ``launch.image``."""
    if settings.build is None:
        return
    base = source.parent if source is not None else Path.cwd()
    context = (base / settings.build.context).resolve()
    containerfile = (base / settings.build.containerfile).resolve()
    if not containerfile.is_file():
        raise ProfileError(f"{source}: launch.build.containerfile: no such file {containerfile}")
    args = {
        key: builtin_image(client, value.removeprefix(BUILTIN_PREFIX)) if value.startswith(BUILTIN_PREFIX) else value
        for key, value in settings.build.args.items()
    }
    with build_lock():  # the tag and the prune below must not race another run's build
        try:
            # The engine's build cache keys each step on the content it copies: unchanged sources cost no build.
            client.images.build(
                path=str(context),
                dockerfile=str(containerfile.relative_to(context)),
                tag=settings.image,
                labels={LABEL: settings.image},
                buildargs=args,
                pull=False,
                rm=True,
                forcerm=True,
            )
        except docker.errors.BuildError as exc:
            log = "".join(str(step.get("stream") or step.get("error") or "") for step in exc.build_log)
            raise ProvisioningError(
                f"{source}: launch.build: building {settings.image} failed:\n{log[-3000:]}"
            ) from None
        # A rebuild moves the tag: the build it replaced, left untagged, is removed.
        prune_images(client, settings.image, settings.image)


class _Launched:
    """An engine, a Docker client on it and one launch; :meth:`stop` releases all three.

    With ``log_dir``, the containers' logs (redacted) are kept there before the containers go.
    """

    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir
        self.engine = Engine()
        self.launch: Launch | None = None
        self._client: docker.DockerClient | None = None

    def _start_launch(
        self, settings: LaunchSettings, source: str, profile: Path | None = None, *, dependencies_only: bool = False
    ) -> Launch:
        """Start the engine, build what ``settings`` builds (relative to ``profile``) and start the launch.

        A failure at any step releases what the earlier steps took before it propagates.
        """
        self.engine.start()
        try:
            self._client = client = docker.from_env()
            build_image(client, settings, profile)
            base_dir = profile.parent if profile is not None else None
            self.launch = Launch(settings, source, lambda name: builtin_image(client, name), base_dir)
            self.launch.start(dependencies_only=dependencies_only)
        except BaseException:
            self.stop()
            raise
        return self.launch

    def stop(self) -> None:
        if self.launch is not None:
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                for name, text in self.launch.logs().items():
                    (self.log_dir / f"container-{name}.log").write_text(redact_text(text))
            self.launch.stop()
            self.launch = None
        if self._client is not None:
            self._client.close()
            self._client = None
        self.engine.stop()


class ContainerTarget(_Launched):
    """The engine and containers of a launched target; ``profile`` is the profile filled in from them."""

    def __init__(self, profile: TargetProfile, settings: LaunchSettings, log_dir: Path | None = None) -> None:
        super().__init__(log_dir)
        self.settings = settings
        self.profile = profile

    def start(self) -> ContainerTarget:
        launch = self._start_launch(self.settings, str(self.profile.source or "profile"), self.profile.source)
        self.profile = self._filled(launch)
        return self

    def _filled(self, launch: Launch) -> TargetProfile:
        profile = self.profile
        auth = replace(profile.auth, key_file=str(launch.key_file)) if launch.key_file.exists() else profile.auth
        database = profile.database
        if launch.database_dsn and not (database and database.resolved_dsn()):
            database = replace(database or DatabaseSettings(), dsn=launch.database_dsn)
        # {internal_url} belongs to the reference app's own launcher; the rest are launch placeholders.
        services = tuple(
            service
            if "{internal_url}" in service.url
            else replace(service, url=launch.render(service.url, f"internal_services.{service.name}.url"))
            for service in profile.internal_services
        )
        return profile.with_overrides(
            base_url=launch.base_url, auth=auth, database=database, internal_services=services
        )


class DatabaseContainer(_Launched):
    """PostgreSQL from an image, for the reference app's database (``--db container[:IMAGE]``).

    The image gets ``POSTGRES_PASSWORD`` and ``PGPORT`` (the official ``postgres`` images honour both);
    the default is ``builtin:postgres``, the embedded default's binaries in an image.
    """

    def __init__(self, image: str = "builtin:postgres") -> None:
        super().__init__()
        self.image = image

    def start(self) -> str:
        """Start the engine and the server; returns a superuser DSN."""
        settings = LaunchSettings(image=self.image, postgres=PostgresSpec(self.image))
        return self._start_launch(settings, "--db", dependencies_only=True).values["postgres.dsn"]
