"""Target profiles: valid ones load, every mistake is named with its key path and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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


@pytest.mark.parametrize(
    ("launch", "message"),
    [
        ({"command": ["app"]}, "launch: 'image' is a required property; add it to the profile"),
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
