"""Target profiles: valid ones load, every mistake is named with its key path and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantprobe.errors import ProfileError
from tenantprobe.profiles import LaunchSettings, load_profile, parse_profile

ROOT = Path(__file__).parents[2]


def minimal(**changes: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "name": "shop",
        "base_url": "https://shop.example",
        "auth": {"kind": "static", "tokens": {"a": {"owner": "t1"}, "b": {"owner": "t2"}}},
        "provisioning": {"kind": "fixed", "tenants": [{"id": "1", "slug": "a"}, {"id": "2", "slug": "b"}]},
    }
    profile.update(changes)
    return profile


def test_reference_profile_loads() -> None:
    profile = load_profile(ROOT / "targets" / "reference.yaml")
    assert profile.launch == "reference-app"
    assert profile.auth.claims["tenant_id"] == "{tenant_id}"
    assert profile.highest_role == "owner"


def test_minimal_static_profile_loads() -> None:
    profile = parse_profile(minimal())
    assert profile.base_url == "https://shop.example"
    assert profile.database is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (minimal(auht={}), "unknown key 'auht' (did you mean 'auth'?)"),
        (
            minimal(auth={"kind": "mnt"}),
            "auth.kind: 'mnt' is not one of mint, token_endpoint, static, steps. Did you mean 'mint'?",
        ),
        (minimal(base_url="shop.example"), "base_url: 'shop.example' does not match"),
        (minimal(auth={"kind": "mint", "claims": {"sub": "x"}}), "kind 'mint' needs key_file"),
        (minimal(auth={"kind": "token_endpoint"}), "auth.url: kind 'token_endpoint' needs the URL"),
        (minimal(provisioning={"kind": "admin_endpoint"}), "provisioning.path"),
        (minimal(provisioning={"kind": "fixed", "tenants": [{"id": "1", "slug": "a"}]}), "at least two tenants"),
        (minimal(expectations=[{"operation": "* /x", "min_role": "root"}]), "'root' is not one of the profile's roles"),
        (minimal(tenant_header=3), "tenant_header: expected string, got int 3"),
        ([1, 2], "a target profile is a YAML mapping"),
    ],
)
def test_mistakes_are_named(raw: object, message: str) -> None:
    with pytest.raises(ProfileError) as excinfo:
        parse_profile(raw, "shop.yaml")
    assert message in str(excinfo.value)
    assert str(excinfo.value).startswith("shop.yaml")


def test_missing_file_points_to_the_example(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"targets/reference\.yaml"):
        load_profile(tmp_path / "nope.yaml")


def test_invalid_yaml_is_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(path)


def test_relative_key_file_is_resolved_next_to_the_profile(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: x\nbase_url: http://x\nauth: {kind: mint, key_file: key.pem, claims: {sub: a}}\n"
        "provisioning: {kind: admin_endpoint, path: /t}\n"
    )
    assert load_profile(path).auth.key_file == str(tmp_path / "key.pem")


def test_container_reference_profile_loads_its_launch() -> None:
    profile = load_profile(ROOT / "targets" / "reference-container.yaml")
    assert isinstance(profile.launch, LaunchSettings)
    assert profile.launch.postgres is not None
    assert profile.launch.postgres.image == "builtin:postgres"
    assert [service.name for service in profile.launch.services] == ["internal", "worker"]
    assert profile.launch.build is not None
    assert profile.launch.build.args == {"RUNTIME": "builtin:python"}


def test_compose_reference_profile_loads_its_launch() -> None:
    profile = load_profile(ROOT / "targets" / "reference-compose.yaml")
    assert isinstance(profile.launch, LaunchSettings)
    assert profile.launch.compose is not None
    assert (profile.launch.compose.file, profile.launch.compose.service) == ("reference-app.compose.yaml", "api")
    assert profile.launch.build is not None
    assert profile.launch.image == "tenantprobe/reference-app:local"


@pytest.mark.parametrize(
    ("launch", "message"),
    [
        ({"command": ["app"]}, "launch: give image (a container image to start) or compose (file: and service:)"),
        ({"compose": {"file": "c.yaml"}}, "launch.compose: 'service' is a required property; add it to the profile"),
        ({"compose": {"file": "c.yaml", "service": "api", "port": 80}}, "launch.compose: unknown key 'port'"),
        (
            {"compose": {"file": "c.yaml", "service": "api"}, "command": ["app"]},
            "launch.command: not with launch.compose (the compose file says how its services start)",
        ),
        (
            {"compose": {"file": "c.yaml", "service": "api"}, "image": "app:1"},
            "launch.image: not with launch.compose, unless launch.build makes it",
        ),
        (
            {"compose": {"file": "c.yaml", "service": "api"}, "build": {"containerfile": "Containerfile"}},
            "launch.build: needs launch.image, the tag it builds",
        ),
        ({"image": "app:1", "timeout": 5}, "launch: unknown key 'timeout' (did you mean 'timeout_seconds'?)"),
        ({"image": "app:1", "port": "8000"}, "launch.port: expected integer, got str '8000'"),
        ("reference_app", "launch: 'reference_app' is not one of reference-app. Did you mean 'reference-app'?"),
    ],
)
def test_launch_mistakes_name_the_key(launch: Any, message: str) -> None:
    raw = minimal(launch=launch)
    del raw["base_url"]
    with pytest.raises(ProfileError) as raised:
        parse_profile(raw, "p.yaml")
    assert message in str(raised.value)


EXAMPLES = sorted((ROOT / "targets" / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_every_example_profile_loads(path: Path) -> None:
    """The examples are the profiles the harness tests run (tests/targets/), so they are real."""
    profile = load_profile(path)
    assert profile.name == path.stem


def example(name: str) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((ROOT / "targets" / "examples" / f"{name}.yaml").read_text())
    return raw


TENANT_ROUTE_MISTAKES = [
    (
        "shelf",
        {"tenant_prefix": "/t/acme"},
        "shelf.yaml: tenant_prefix: '/t/acme' names no tenant, so every tenant would share it; put {tenant_id} "
        "(or {tenant_slug}) where the tenant goes, e.g. '/t/{tenant_id}'",
    ),
    (
        "shelf",
        {"tenant_prefix": "t/{tenant_id}/"},
        "shelf.yaml: tenant_prefix: 't/{tenant_id}/' is not a path prefix; it starts with '/' and ends without one, "
        "e.g. '/t/{tenant_id}' (the operations' paths from the OpenAPI document follow it)",
    ),
    (
        "shelf-subdomain",
        {"tenant_host": "https://{tenant_id}.localhost"},
        "shelf-subdomain.yaml: tenant_host: 'https://{tenant_id}.localhost' is not a host name; give the name "
        "alone, e.g. '{tenant_id}.localhost' (requests still go to base_url, with this Host header)",
    ),
    (
        "shelf-subdomain",
        {"tenant_hosts": "{tenant_id}.localhost"},
        "shelf-subdomain.yaml: (top level): unknown key 'tenant_hosts' (did you mean 'tenant_host'?); allowed keys: ",
    ),
    (
        "orgboard",
        {"bindings": {"org_handle": ["{org}"]}},
        "orgboard.yaml: bindings.org_handle: expected string, got list ['{org}']",
    ),
]


@pytest.mark.parametrize(("name", "change", "message"), TENANT_ROUTE_MISTAKES)
def test_tenant_route_and_binding_mistakes_name_the_file_the_key_and_the_fix(
    name: str, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProfileError) as error:
        parse_profile({**example(name), **change}, f"{name}.yaml")
    assert str(error.value).startswith(message), str(error.value)
