"""Reading what a run left behind, without ever trusting it to be whole.

A results directory holds result records (``*.jsonl``, one JSON object a line) and optional
load results (``load-*.json``). Every defect (a truncated line, a record without a control
id, an unknown control, a load file that does not match its schema) becomes a
:class:`Problem` naming the file and line; the rest of the input is still read, and the
verdict can no longer be PASS.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from reports._model import Declaration, EvidenceFile, LoadResult, Problem, Record, Waiver
from reports._runs import run_key
from reports._tally import RunTally
from tenantprobe.controls import Catalogue
from tenantprobe.errors import ProfileError, RecordError, TenantProbeError
from tenantprobe.profiles import read_bounded
from tenantprobe.records import decode_record, parse_record

LOAD_SCHEMA_ID = "tenantprobe.load/1"
MAX_RECORD_BYTES = 16 * 1024 * 1024  # one JSON line; a record's evidence is cut long before this
MAX_LOAD_BYTES = 256 * 1024 * 1024  # one load-*.json
MAX_FILE_BYTES = 64 * 1024 * 1024  # a waivers file or a previous report.json
REPORT_SCHEMA_ID = "tenantprobe.report/1"


@dataclass
class RunInputs:
    results_dir: Path
    runs: dict[str, RunTally] = field(default_factory=dict)  # run id (or legacy) -> its records, folded
    problems: list[Problem] = field(default_factory=list)
    load_results: list[LoadResult] = field(default_factory=list)
    evidence_files: list[EvidenceFile] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def load_result_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files("reports").joinpath("load-result.schema.json").read_text())
    return schema


def read_results(results_dir: Path, catalogue: Catalogue) -> RunInputs:
    """Every record and load result under ``results_dir``, with a problem for each defect."""
    if not results_dir.is_dir():
        raise ProfileError(
            f"--results {results_dir}: no such directory. Run a suite first, e.g. "
            f"`pytest suites/isolation --results-dir {results_dir}`, then point --results at that directory."
        )
    inputs = RunInputs(results_dir)
    for path in sorted(results_dir.glob("*.jsonl")):
        if _inside(path, results_dir, inputs):
            _read_jsonl(path, catalogue, inputs)
    for path in sorted(results_dir.glob("load-*.json")):
        if _inside(path, results_dir, inputs):
            _read_load(path, inputs)
    if not inputs.runs and not inputs.load_results:
        inputs.problems.append(
            Problem(
                str(results_dir),
                "no result records (*.jsonl) or load results (load-*.json) here: either no suite ran or every "
                "suite crashed before writing. Nothing can be scored; run the suites with "
                f"--results-dir {results_dir}.",
            )
        )
    return inputs


def _inside(path: Path, results_dir: Path, inputs: RunInputs) -> bool:
    """A results file is a regular file inside the directory: a link out of it (to a secret, to /dev/zero) is not
    read, and says so."""
    resolved = path.resolve()
    if not resolved.is_relative_to(results_dir.resolve()) or not resolved.is_file():
        inputs.problems.append(
            Problem(
                path.name,
                f"resolves to {resolved}, which is not a regular file inside {results_dir}: not read. Results files "
                "are written by the suites into the results directory; remove the link or copy the file in",
            )
        )
        return False
    return True


def _read_jsonl(path: Path, catalogue: Catalogue, inputs: RunInputs) -> None:
    """Line by line into the tallies of the runs, so memory holds one record at a time, not the file."""
    digest, size, count = hashlib.sha256(), 0, 0
    targets: dict[str, dict[str, Any]] = {}  # one dict per distinct target: 100,000 records share a handful
    name = path.name
    with path.open("rb") as handle:
        for number, data in enumerate(iter(lambda: handle.readline(MAX_RECORD_BYTES + 1), b""), start=1):
            digest.update(data)
            size += len(data)
            where = f"{name}:{number}"
            if len(data) > MAX_RECORD_BYTES and not data.endswith(b"\n"):
                inputs.problems.append(
                    Problem(where, f"a record longer than {MAX_RECORD_BYTES} bytes: not read (no suite writes one)")
                )
                for rest in iter(lambda: handle.readline(MAX_RECORD_BYTES + 1), b""):  # skip to the line's end
                    digest.update(rest)
                    size += len(rest)
                    if rest.endswith(b"\n"):
                        break
                continue
            record = decode_record(data, Record, source=where) or _explained(data, where, inputs)
            if record is None:
                continue
            try:
                control = catalogue.get(record.control_id)
            except TenantProbeError as exc:
                inputs.problems.append(
                    Problem(where, f"{exc} The record is ignored (is the catalogue older than the suite?)")
                )
                continue
            if record.target:
                record.target = targets.setdefault(repr(record.target), record.target)
            run = run_key(record.run_id)
            if run not in inputs.runs:
                inputs.runs[run] = RunTally({c.id: position for position, c in enumerate(catalogue)})
            inputs.runs[run].read(record, control, name)
            count += 1
    inputs.evidence_files.append(EvidenceFile(name, digest.hexdigest(), size, count))


def _explained(data: bytes, where: str, inputs: RunInputs) -> Record | None:
    """A line the fast decoder refused: the standard library says what is wrong with it, or reads what it accepts
    (a NaN, an invalid UTF-8 byte); None for an empty line."""
    line = data.decode("utf-8", errors="replace")
    if not line.strip():
        return None
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        inputs.problems.append(
            Problem(
                where,
                f"not a complete JSON record ({exc.msg}, column {exc.colno}): the line is truncated or "
                "corrupted, typically because the suite was killed while writing. Its check is missing "
                "from this report; re-run the suite.",
            )
        )
        return None
    try:
        json.dumps(raw, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        inputs.problems.append(
            Problem(
                where, "holds an escaped lone surrogate (\\ud800 to \\udfff), which is not text: the record is ignored"
            )
        )
        return None
    try:
        return parse_record(raw, Record, source=where)
    except RecordError as exc:
        inputs.problems.append(Problem(where, str(exc)))
        return None


def _read_load(path: Path, inputs: RunInputs) -> None:
    with path.open("rb") as handle:
        data = handle.read(MAX_LOAD_BYTES + 1)
    if len(data) > MAX_LOAD_BYTES:
        inputs.problems.append(Problem(path.name, f"larger than {MAX_LOAD_BYTES} bytes: this load result is ignored"))
        return
    inputs.evidence_files.append(EvidenceFile(path.name, _sha256(data), len(data), 0))
    try:
        raw = json.loads(data)
    except ValueError as exc:
        inputs.problems.append(Problem(path.name, f"not valid JSON ({exc}); this load result is ignored"))
        return
    errors = sorted(
        jsonschema.Draft202012Validator(load_result_schema()).iter_errors(raw), key=lambda e: list(e.absolute_path)
    )
    if errors:
        first = errors[0]
        key = ".".join(str(p) for p in first.absolute_path) or "(top level)"
        inputs.problems.append(
            Problem(
                path.name,
                f"does not match reports/load-result.schema.json at {key}: {first.message}"
                + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
                + "; this load result is ignored",
            )
        )
        return
    inputs.load_results.append(LoadResult(path.name, str(raw["scenario"]), raw))


# ---------------------------------------------------------------------- waivers
WAIVER_KEYS = ("control", "reason", "owner", "expires")


def read_waivers(
    path: Path, catalogue: Catalogue, today: date
) -> tuple[list[Waiver], list[Declaration], list[Problem], EvidenceFile]:
    """Waivers and not-applicable declarations from the user's YAML file (see reports/README.md).

    A malformed entry is reported and not applied, so it can only make the verdict stricter.
    """
    if not path.is_file():
        raise ProfileError(f"--waivers {path}: no such file")
    data = read_bounded(path, MAX_FILE_BYTES, "waivers file")
    evidence = EvidenceFile(path.name, _sha256(data), len(data), 0)
    problems: list[Problem] = []
    try:
        raw = yaml.safe_load(data) or {}
    except yaml.YAMLError as exc:
        return [], [], [Problem(path.name, f"not valid YAML: {exc}; no waiver applied")], evidence
    if not isinstance(raw, dict) or set(raw) - {"waivers", "not_applicable"}:
        unknown = sorted(set(raw) - {"waivers", "not_applicable"}) if isinstance(raw, dict) else []
        problems.append(
            Problem(
                path.name,
                "expected a mapping with the keys 'waivers' and/or 'not_applicable'"
                + (f"; unknown key(s) {', '.join(map(repr, unknown))}" if unknown else ""),
            )
        )
        if not isinstance(raw, dict):
            return [], [], problems, evidence
    waivers: list[Waiver] = []
    for index, entry in enumerate(raw.get("waivers") or []):
        where = f"{path.name}: waivers[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(where, "expected a mapping with control, reason, owner and expires"))
            continue
        missing = [key for key in WAIVER_KEYS if not entry.get(key)]
        if missing:
            problems.append(
                Problem(
                    where,
                    f"missing {', '.join(missing)}: a waiver needs a control, a reason, an owner and an expiry date "
                    "(YYYY-MM-DD); this one is not applied",
                )
            )
            continue
        control_id = str(entry["control"])
        try:
            catalogue.get(control_id)
        except TenantProbeError as exc:
            problems.append(Problem(f"{where}.control", f"{exc} This waiver is not applied."))
            continue
        expires = entry["expires"]
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                problems.append(Problem(f"{where}.expires", f"{expires!r} is not a date (YYYY-MM-DD); not applied"))
                continue
        if not isinstance(expires, date):
            problems.append(Problem(f"{where}.expires", f"{expires!r} is not a date (YYYY-MM-DD); not applied"))
            continue
        waivers.append(
            Waiver(
                control_id=control_id,
                reason=str(entry["reason"]),
                owner=str(entry["owner"]),
                expires=expires.isoformat(),
                expired=expires < today,
                source=where,
            )
        )
    declarations: list[Declaration] = []
    for index, entry in enumerate(raw.get("not_applicable") or []):
        where = f"{path.name}: not_applicable[{index}]"
        if not isinstance(entry, dict) or not entry.get("control") or not entry.get("reason"):
            problems.append(
                Problem(where, "a not_applicable entry needs a control and a reason; this one is not applied")
            )
            continue
        try:
            catalogue.get(str(entry["control"]))
        except TenantProbeError as exc:
            problems.append(Problem(f"{where}.control", f"{exc} Not applied."))
            continue
        declarations.append(Declaration(str(entry["control"]), str(entry["reason"]), where))
    return waivers, declarations, problems, evidence


# ---------------------------------------------------------------------- previous report
def read_previous(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The controls of an earlier report.json, for the trend; a bad file is a warning, not a blocker."""
    if not path.is_file():
        raise ProfileError(f"--previous {path}: no such file (pass the report.json of an earlier run)")
    try:
        raw = json.loads(read_bounded(path, MAX_FILE_BYTES, "previous report.json").decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [Problem(path.name, f"previous report is not valid JSON ({exc}); no trend shown", False)]
    if not isinstance(raw, dict) or raw.get("schema") != REPORT_SCHEMA_ID or not isinstance(raw.get("controls"), list):
        return None, [
            Problem(path.name, f"not a tenantprobe report.json (schema {REPORT_SCHEMA_ID}); no trend shown", False)
        ]
    return raw, []
