"""``tenantprobe bench scale`` runs the steady scenario per tenant count and records the curve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from tenantprobe.load.result import schema
from tests.load.conftest import ROOT, LoadTarget
from tests.load.test_scenarios import REPORT_SCHEMA


def test_bench_scale_records_one_point_per_tenant_count(load_target: LoadTarget, tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("tenantprobe")), "bench", "scale", "--tenants", "2,1", "--tenant-rps",
            "2", "--run-time", "2", "--warmup", "0", "--target", str(load_target.profile), "--results-dir",
            str(tmp_path),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads((tmp_path / "load-scale.json").read_text())
    jsonschema.validate(document, schema())
    if REPORT_SCHEMA.is_file():
        jsonschema.validate(document, json.loads(REPORT_SCHEMA.read_text()))
    assert [point["tenants"] for point in document["scalability"]] == [1, 2]
    for point in document["scalability"]:
        steady = json.loads(Path(point["file"]).read_text())
        assert steady["tenants"] == point["tenants"]
        assert point["rps"] == steady["totals"]["achieved_rps"]
    assert "concurrent_tenants" not in document["metrics"]
    (record,) = [
        json.loads(line) for path in tmp_path.glob("load-scale-*.jsonl") for line in path.read_text().splitlines()
    ]
    assert (record["control_id"], record["status"]) == ("PERF-CONCURRENT-TENANTS", "not_assessed")
    assert "needs a point at 100" in record["reason"]
