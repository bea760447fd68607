"""A workload file with a mistake stops with the entry, the key and the fix (tenantprobe/load/plan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantprobe.errors import ProfileError
from tenantprobe.load.plan import load_workload


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: read, method: GET, path: /v1/x, wieght: 3}", "operations[0]: unknown key 'wieght' (did you mean"),
        ("{name: read, method: GET, path: /v1/x}", "operations[0] (read): add weight"),
        ("{name: read, method: GET, path: /v1/x, weight: lots}", "weight 'lots' must be a number >= 0"),
        ("read /v1/x", "operations[0] is 'read /v1/x'; expected a mapping"),
    ],
)
def test_workload_mistake_names_entry_key_and_fix(tmp_path: Path, entry: str, message: str) -> None:
    workload = tmp_path / "workload.yaml"
    workload.write_text(f"operations:\n  - {entry}\n")
    with pytest.raises(ProfileError, match=r"^--workload .*workload\.yaml: ") as raised:
        load_workload(str(workload))
    assert message in str(raised.value)


def test_valid_workload_loads_with_its_weights(tmp_path: Path) -> None:
    workload = tmp_path / "workload.yaml"
    workload.write_text("operations:\n  - {name: read, method: get, path: '/v1/x/{id}', weight: 2}\n")
    operations, seed, usage = load_workload(str(workload), "read=5")
    assert [(op.name, op.method, op.weight, op.needs_id) for op in operations] == [("read", "GET", 5.0, True)]
    assert (seed, usage) == ({}, {})
