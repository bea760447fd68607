"""Result records: one JSON line per check outcome, the only thing suites hand to the report.

A record always says which control it speaks for and how it ended. Evidence is redacted when
written (tokens, keys, DSN passwords), so a results directory can be shared with an auditor.

Example::

    writer = ResultWriter(Path("results"), suite="isolation", target={"name": "reference"})
    writer.write(ResultRecord(control_id="API-CROSS-TENANT-READ", check_id="...", status=Status.PASS))
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from tenantprobe.redact import redact_text


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    ERROR = "error"
    NOT_ASSESSED = "not_assessed"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class ResultRecord:
    """The outcome of one check for one control.

    ``measured`` holds numbers (``attempts``/``blocked`` for cross-tenant checks, latencies for
    metrics); ``evidence`` holds redacted exchanges, SQL, expected vs actual and a curl
    reproduction; ``pair`` names the attacker and victim tenants of a cross-tenant check.
    """

    control_id: str
    check_id: str
    status: Status
    summary: str = ""
    severity: str = ""
    reason: str | None = None
    measured: dict[str, Any] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    pair: dict[str, str] | None = None
    target: dict[str, Any] = field(default_factory=dict)
    started_at: str = field(default_factory=now_iso)
    finished_at: str = field(default_factory=now_iso)

    def to_json(self) -> str:
        """One line of JSON with every secret pattern redacted."""
        data = asdict(self)
        data["status"] = str(self.status)
        return redact_text(json.dumps(data, default=str, sort_keys=True))


class ResultWriter:
    """Appends records to ``<results_dir>/<suite>-<pid>.jsonl``; safe to share between threads."""

    def __init__(self, results_dir: Path, suite: str, target: dict[str, Any] | None = None) -> None:
        results_dir.mkdir(parents=True, exist_ok=True)
        self.path = results_dir / f"{suite}-{os.getpid()}.jsonl"
        self.target = target or {}
        self._lock = threading.Lock()
        self.count = 0
        self.outcomes: dict[str, dict[str, str]] = {}  # control -> status -> first reason, for the session summary

    def write(self, record: ResultRecord) -> None:
        if not record.target:
            record.target = self.target
        line = record.to_json()
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            self.count += 1
            self.outcomes.setdefault(record.control_id, {}).setdefault(str(record.status), record.reason or "")

    def unassessed(self) -> dict[str, str]:
        """Controls written only as not_assessed or error in this run, with a reason for each."""
        return {
            control: statuses.get("not_assessed") or statuses.get("error") or ""
            for control, statuses in self.outcomes.items()
            if not {"pass", "fail"} & set(statuses)
        }


def read_records(results_dir: Path) -> list[dict[str, Any]]:
    """Every well-formed record under ``results_dir`` (the report module handles malformed lines)."""
    records = []
    for path in sorted(results_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records
