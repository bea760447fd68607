"""One corpus entry end to end: praisonai-platform's published advisories found from its generic profile.

``benchmarks/corpus/run.py`` installs 0.1.1 (vulnerable) and 0.1.4 (fixed) into the corpus cache
(``~/.cache/tenantprobe/corpus``: reused while the pins are unchanged, the first run downloads
them from PyPI), starts each on loopback with an empty database and runs the isolation suite
with ``benchmarks/corpus/profiles/praisonai.yaml``, which names no vulnerable endpoint. To stay
short it runs only the checks of the controls the advisories need, with two tenants (one
attacker-victim pair each way), both releases at once: about 2 minutes on the shared 2-core VM one
after the other, where adding the gate controls' checks more than doubled it (``benchmarks/README.md``,
real-world corpus).

The one finding the full suite makes on 0.1.4 was verified by hand as a real weakness separate
from the advisories, and is the only one tolerated here should the selection grow: an issue may
name another workspace's project (``project_id``) or issue (``parent_issue_id``), and that
project's stats then count it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
ADVISORY_CONTROLS = ("API-NESTED-PARENT", "API-AUTHZ-ROLE")
RELEASES = {"vulnerable": "0.1.1", "fixed": "0.1.4"}
WS = "/api/v1/workspaces/{workspace_id}"

pytestmark = pytest.mark.timeout(1800)  # a cold cache installs both releases first


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every result record of each release's run (``vulnerable``, ``fixed``)."""
    workdir = tmp_path_factory.mktemp("corpus")
    command = [
        sys.executable, "benchmarks/corpus/run.py", "--app", "praisonai", "--release", "both", "--jobs", "2",
        "--workdir", str(workdir), "--pytest-args", "--tenants", "2", "--controls", ",".join(ADVISORY_CONTROLS),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1700, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    found = {}
    for which, version in RELEASES.items():
        results = workdir / f"run-praisonai-{version}" / "results"
        lines = [line for path in sorted(results.glob("*.jsonl")) for line in path.read_text().splitlines()]
        found[which] = [json.loads(line) for line in lines if line.strip()]
        assert found[which], f"no records for {version}:\n{done.stdout[-6000:]}"
    return found


def _summaries(records: list[dict[str, Any]], control: str, status: str = "fail") -> str:
    return "\n".join(r["summary"] or "" for r in records if r["control_id"] == control and r["status"] == status)


def test_the_advisories_are_found_on_the_vulnerable_release(records: dict[str, list[dict[str, Any]]]) -> None:
    nested = _summaries(records["vulnerable"], "API-NESTED-PARENT")
    # GHSA-gv23-xrm3-8c62: another workspace's issues and projects through one's own workspace path.
    assert f"GET {WS}/issues/{{issue_id}}: victim's child under the attacker's parent answered 200" in nested
    assert f"GET {WS}/projects/{{project_id}}: victim's child under the attacker's parent answered 200" in nested
    roles = _summaries(records["vulnerable"], "API-AUTHZ-ROLE")
    assert f"member PATCH {WS}: expected denied, got 200" in roles  # GHSA-rcmc-q9rj-4wmq
    assert f"member POST {WS}/members: expected denied, got 201" in roles  # CVE-2026-47413
    assert f"member PATCH {WS}/members/{{user_id}}: expected denied, got 200" in roles  # GHSA-h37g-4h4p-9x97


def test_the_fixed_release_reports_only_the_weakness_verified_by_hand(
    records: dict[str, list[dict[str, Any]]],
) -> None:
    fixed = records["fixed"]
    failed = {r["control_id"] for r in fixed if r["status"] == "fail"}
    assert failed <= {"API-CROSS-TENANT-WRITE"}, failed
    verified = ("in body project_id answered 201", "in body parent_issue_id answered 201")
    for summary in _summaries(fixed, "API-CROSS-TENANT-WRITE").replace("\n", "; ").split("; "):
        if summary:
            assert f"POST {WS}/issues/ with " in summary, summary
            assert summary.endswith(verified), summary
    judged = {r["control_id"] for r in fixed if r["status"] == "pass"}
    assert set(ADVISORY_CONTROLS) <= judged, judged
