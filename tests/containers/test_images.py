"""Images the harness builds do not pile up in the engine: older builds of one image are removed."""

from __future__ import annotations

import secrets
from pathlib import Path

import docker

from tenantprobe.containers import build_image
from tenantprobe.images import LABEL, ImageFiles, ensure_image
from tenantprobe.profiles import BuildSpec, LaunchSettings


def tiny(name: str, content: str) -> ImageFiles:
    """A ``FROM scratch`` image of one file: each ``content`` is another build of image ``name``."""
    files = ImageFiles(name, containerfile=["FROM scratch", "COPY rootfs/ /"])
    files.generated["/version"] = (content.encode(), 0o644)
    return files


def builds(client: docker.DockerClient, name: str) -> set[str]:
    return {image.id for image in client.images.list(filters={"label": f"{LABEL}={name}"})}


def test_a_new_build_removes_all_but_the_one_before_it(client: docker.DockerClient) -> None:
    name = f"prune-{secrets.token_hex(4)}"
    tags, ids = [], []
    for version in range(4):
        tags.append(ensure_image(client, tiny(name, str(version))))
        ids.append(client.images.get(tags[-1]).id)
    try:
        assert builds(client, name) == set(ids[-2:]), "the current build and the one before it stay"
    finally:
        for tag in tags[-2:]:
            client.images.remove(tag)


def test_a_rebuilt_tag_leaves_no_untagged_build_once_no_container_uses_it(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    """``launch.build`` rebuilds one tag (``tenantprobe/reference-app:local``): the build it replaced goes."""
    tag = f"tenantprobe/prune-{secrets.token_hex(4)}:local"
    (tmp_path / "Containerfile").write_text("FROM scratch\nCOPY version /version\n")
    settings = LaunchSettings(image=tag, build=BuildSpec("Containerfile"))

    def build(content: str) -> str:
        (tmp_path / "version").write_text(content)
        build_image(client, settings, tmp_path / "profile.yaml")
        return str(client.images.get(tag).id)

    first = build("1")
    used = client.containers.create(first, command=["/version"])
    try:
        second = build("2")
        assert builds(client, tag) == {first, second}, "a build a container uses stays"
    finally:
        used.remove()
    third = build("3")
    try:
        assert builds(client, tag) == {third}, "once no container uses it, the next build removes it"
    finally:
        client.images.remove(tag)
