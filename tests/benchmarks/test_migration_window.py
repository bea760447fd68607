"""The migration-window benchmark runs end to end at a tiny scale and leaves a record the report reads.

Timings are not checked (they are figures, not assertions); what is checked is that the
rollback and upgrade ran over real tenant data, kept every row, and produced an
OPS-MAINTENANCE-WINDOW record with the measured value under the catalogue's metric name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_rollback_and_upgrade_keep_every_row_and_write_the_record(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}  # its own embedded server
    completed = subprocess.run(
        [sys.executable, "benchmarks/migration_window.py", "--tenants", "3", "--notes", "20", "--rounds", "1",
         "--results-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, env=env, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "row counts unchanged after every round" in completed.stdout
    (path,) = tmp_path.glob("migration-window-*.jsonl")
    (record,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert record["control_id"] == "OPS-MAINTENANCE-WINDOW"
    assert record["status"] in ("pass", "fail")
    assert record["measured"]["migration_seconds"] > 0
    assert record["measured"]["rows"]["notes"] == 60
    assert record["measured"]["rows"]["tenants"] == 3
