"""From one run's result records to one row of the corpus table (pure: no I/O).

A control *fails* when any of its records failed; it is *not assessed* when none of its records
passed or failed (``not_assessed`` or ``error`` only; "(error)" marks a check that crashed).
Each failed control gets one evidence line:
the attacker's request and the status it got.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MISSING = "—"


@dataclass
class Row:
    app: str
    release: str  # "vulnerable 0.1.1"
    advisory: str
    found: dict[str, str] = field(default_factory=dict)  # failed control -> evidence line
    not_assessed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""  # why the run itself went wrong, if it did

    @property
    def is_fixed(self) -> bool:
        return self.release.startswith("fixed")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.scheme else url


def evidence_line(record: dict[str, Any]) -> str:
    """``METHOD /path -> status`` of the attacker's exchange (else the last exchange) of a record."""
    attacker = (record.get("pair") or {}).get("attacker")
    exchanges = [item for item in record.get("evidence") or [] if isinstance(item, dict) and "request" in item]
    if not exchanges:
        return str(record.get("summary") or "(no evidence)")[:160]
    chosen = next((item for item in exchanges if attacker and item.get("actor") == attacker), exchanges[-1])
    request, response = chosen["request"], chosen.get("response") or {}
    return f"{request.get('method', '?')} {_path(str(request.get('url', '?')))} -> {response.get('status', '?')}"


def summarize(records: Iterable[dict[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """(failed control -> evidence line, controls not assessed), both in first-seen order."""
    statuses: dict[str, set[str]] = {}
    found: dict[str, str] = {}
    for record in records:
        control, status = str(record.get("control_id")), str(record.get("status"))
        statuses.setdefault(control, set()).add(status)
        if status == "fail" and control not in found:
            found[control] = evidence_line(record)
    unassessed = [
        control + (" (error)" if "error" in seen else "")
        for control, seen in statuses.items()
        if not {"pass", "fail"} & seen and seen & {"not_assessed", "error"}
    ]
    return found, unassessed


def _cells(row: Row) -> list[list[str]]:
    lines = [f"{control}: {line}" for control, line in row.found.items()]
    if row.note:  # a run that went wrong must not read as "nothing found"
        lines.append(f"NO RESULT: {row.note}" if not lines else f"(and: {row.note})")
    lines = lines or ["none"]
    found, false_positives = ([MISSING], lines) if row.is_fixed else (lines, [MISSING])
    return [
        [row.app],
        [row.release],
        [row.advisory],
        found,
        false_positives,
        [", ".join(row.not_assessed) or "none"],
        [f"{row.seconds:.0f} s"],
    ]


HEADERS = ["app", "release", "advisory", "found", "false positives (fixed release)", "not assessed", "run time"]


def markdown(rows: list[Row]) -> str:
    def cell(lines: list[str]) -> str:
        return "<br>".join(line.replace("|", "\\|") for line in lines)

    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(cell(lines) for lines in _cells(row)) + " |" for row in rows]
    return "\n".join(out) + "\n"


def text(rows: list[Row], width: int = 110) -> str:
    """The same table for a terminal: one block per row, one or more lines per field."""
    blocks = []
    for row in rows:
        lines = []
        for header, values in zip(HEADERS, _cells(row), strict=True):
            wrapped = [part for value in values for part in textwrap.wrap(value, width) or [""]]
            for index, value in enumerate(wrapped):
                label = header if index == 0 else ""
                lines.append(f"  {label:<32}{value}")
        blocks.append("\n".join(lines))
    return ("\n" + "-" * 80 + "\n").join(blocks) + "\n"
