"""Result records: one JSON line per check outcome, the only thing suites hand to the report.

This module is the one definition of a record, for the writers (suites, load runs) and the
reader (``reports``): :class:`ResultRecord`, its JSON Schema (``result_record.schema.json``)
and :func:`parse_record`. A record always says which control it speaks for, how it ended,
which run it belongs to (``run_id``) and which target it was measured on
(``target_fingerprint``), so a report can score one run of one target and nothing else.
Evidence is redacted when written (tokens, keys, DSN passwords), so a results directory can be
shared with an auditor.

Example::

    writer = ResultWriter(Path("results"), suite="isolation", target={"name": "reference"})
    writer.write(ResultRecord(control_id="API-CROSS-TENANT-READ", check_id="...", status=Status.PASS))
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeGuard, TypeVar, overload

import jsonschema
import msgspec

from tenantprobe.errors import InternalError, RecordError
from tenantprobe.redact import redact_text, redact_value

RUN_ID_ENV = "TENANTPROBE_RUN_ID"
# Keys of a target identity that name the system under test (display-only keys are left out).
FINGERPRINT_KEYS = ("facet", "name", "base_url", "title", "version", "faults", "server", "kubernetes_version")


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    ERROR = "error"
    NOT_ASSESSED = "not_assessed"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    """A fresh run id that sorts by time: ``20261202T031500Z-3f9a1c``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def current_run_id() -> str:
    """``TENANTPROBE_RUN_ID`` when set (several pytest and locust invocations form one run), else a fresh id."""
    return os.environ.get(RUN_ID_ENV, "").strip() or new_run_id()


def target_fingerprint(identity: Mapping[str, Any] | None) -> str | None:
    """A stable hash of what names the target, or None without an identity.

    A launched reference app listens on a fresh port in every session, so its ``launch`` recipe
    stands for its URL; the same holds for the API server of a local control plane.
    """
    if not identity:
        return None
    stable = {key: identity[key] for key in FINGERPRINT_KEYS if identity.get(key) not in (None, "", [])}
    if identity.get("launch"):
        stable["base_url"] = f"launch:{identity['launch']}"
    if identity.get("local_control_plane"):
        stable["server"] = "local control plane"
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()
    return f"sha256:{digest[:16]}"


@dataclass
class ResultRecord:
    """The outcome of one check for one control.

    ``measured`` holds numbers: a cross-tenant record has ``attempts`` (attempts judged, their
    positive control having succeeded), ``blocked`` and optionally ``inconclusive`` (attempts not
    judged); metrics have their measure name. ``evidence`` holds redacted exchanges, SQL,
    expected vs actual and a curl reproduction; ``pair`` names the attacker and victim tenants.
    ``run_id`` and ``target_fingerprint`` are filled in by the :class:`ResultWriter`.
    """

    control_id: str
    check_id: str
    status: Status
    attack: str | None = None  # the check's attack class (catalogue attack_classes), stamped by the writer
    summary: str = ""
    severity: str = ""
    reason: str | None = None
    measured: dict[str, Any] = field(default_factory=dict)
    evidence: list[Any] = field(default_factory=list)
    pair: dict[str, str] | None = None
    target: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    target_fingerprint: str | None = None
    started_at: str | None = field(default_factory=now_iso)
    finished_at: str | None = field(default_factory=now_iso)

    @property
    def attacker(self) -> str | None:
        return (self.pair or {}).get("attacker") or None

    @property
    def victim(self) -> str | None:
        return (self.pair or {}).get("victim") or None

    @property
    def attempts(self) -> tuple[int, int]:
        """(judged cross-tenant attempts, blocked): only what ``measured`` states, never inferred.

        A pass or fail without ``measured.attempts`` is a control-level result, and a canary scan
        counts responses (``responses_scanned``), not attempts: both count 0, so neither can
        dilute a leak in the Tenant Isolation Score.
        """
        attempts, blocked = self.measured.get("attempts"), self.measured.get("blocked")
        if "responses_scanned" in self.measured or not (_count(attempts) and _count(blocked)):
            return 0, 0
        return attempts, blocked

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        return data

    def to_json(self) -> str:
        """One line of JSON with secret fields (by name, at any depth) and every secret pattern redacted."""
        return redact_text(json.dumps(redact_value(self.to_dict()), default=str, sort_keys=True))


RECORD_FIELDS = frozenset(f.name for f in fields(ResultRecord))
R = TypeVar("R", bound=ResultRecord)


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@cache
def record_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        resources.files("tenantprobe").joinpath("result_record.schema.json").read_text()
    )
    return schema


_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description"})


def _compile(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """A fast check of the schema's few keywords; jsonschema then explains a failure.

    Reading 10,000 records through jsonschema alone takes seconds; this checks the same schema.
    """
    names = [schema["type"]] if isinstance(schema.get("type"), str) else schema.get("type")
    types = tuple(_TYPES[name] for name in names) if names else None
    allow_bool = not names or "boolean" in names
    enum, min_length, minimum = schema.get("enum"), schema.get("minLength", 0), schema.get("minimum")
    required = tuple(schema.get("required", ()))
    properties = {key: _compile(sub) for key, sub in schema.get("properties", {}).items()}

    def check(value: Any) -> bool:
        if types is not None and (not isinstance(value, types) or (type(value) is bool and not allow_bool)):
            return False
        if enum is not None and value not in enum:
            return False
        if min_length and isinstance(value, str) and len(value) < min_length:
            return False
        if minimum is not None and isinstance(value, int | float) and value < minimum:
            return False
        if isinstance(value, dict):
            for key in required:
                if key not in value:
                    return False
            for key, item in value.items():
                sub = properties.get(key)
                if sub is not None and not sub(item):
                    return False
        return True

    return check


def _uses_only_known_keywords(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return True
    known = _ANNOTATIONS | {"type", "enum", "minLength", "minimum", "required", "properties"}
    return set(schema) <= known and all(_uses_only_known_keywords(s) for s in schema.get("properties", {}).values())


@cache
def _validators() -> tuple[Callable[[Any], bool], jsonschema.Draft202012Validator]:
    schema = record_schema()
    if not _uses_only_known_keywords(schema):
        raise InternalError("result_record.schema.json uses a keyword records._compile does not know")
    return _compile(schema), jsonschema.Draft202012Validator(schema)


def _explain(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"record without {missing!r}: ignored"
    if path == "status" and error.validator == "enum":
        allowed = ", ".join(sorted(record_schema()["properties"]["status"]["enum"]))
        return f"status {error.instance!r} is not one of {allowed}: the record is ignored"
    return f"{path or 'the record'}: {error.message}; the record is ignored"


@overload
def parse_record(raw: Any) -> ResultRecord: ...
@overload
def parse_record(raw: Any, record_type: type[R], **extra: Any) -> R: ...
def parse_record(raw: Any, record_type: type[ResultRecord] = ResultRecord, **extra: Any) -> ResultRecord:
    """A record from its JSON form; :class:`RecordError` names the first defect (key and value).

    ``record_type`` and ``extra`` let a reader make its own subclass (the report adds ``source``).
    """
    if not isinstance(raw, dict):
        raise RecordError(f"expected a JSON object, found {type(raw).__name__}")
    conforms, validator = _validators()
    if not conforms(raw):
        errors = sorted(validator.iter_errors(raw), key=_error_order)
        raise RecordError(_explain(errors[0]) if errors else "does not match result_record.schema.json")
    measured = raw.get("measured") or {}
    attempts, blocked = measured.get("attempts"), measured.get("blocked")
    if _count(attempts) and _count(blocked) and blocked > attempts:
        raise RecordError(f"measured.blocked ({blocked}) exceeds measured.attempts ({attempts}): the record is ignored")
    values = {key: value for key, value in raw.items() if key in RECORD_FIELDS and value is not None}
    values["status"] = Status(raw["status"])
    values.setdefault("started_at", None)
    values.setdefault("finished_at", None)
    pair = values.get("pair")
    if pair is not None:
        values["pair"] = {k: str(v) for k, v in pair.items() if v}
    return record_type(**values, **extra)


NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class _Line(msgspec.Struct):
    """result_record.schema.json as a msgspec type: decoding a line also checks it against the schema.

    The schema's constraints on ``measured`` and ``pair`` (counts, tenant names) are checked after
    decoding (those objects hold other keys too); tests/core/test_records.py keeps this type and the
    schema in step.
    """

    control_id: NonEmpty
    check_id: NonEmpty
    status: Literal["pass", "fail", "error", "not_assessed", "not_applicable", "waived"]
    attack: str | None = None
    summary: str | None = None
    severity: str | None = None
    reason: str | None = None
    run_id: NonEmpty | None = None
    target_fingerprint: str | None = None
    target: dict[str, Any] | None = None
    measured: dict[str, Any] | None = None
    evidence: list[Any] | None = None
    pair: dict[str, Any] | None = None
    started_at: str | None = None
    finished_at: str | None = None


COUNTS = ("attempts", "blocked", "inconclusive", "responses_scanned")  # the integers of ``measured``
_LINE = msgspec.json.Decoder(_Line)
_STATUS = {str(status): status for status in Status}


def decode_record(line: bytes, record_type: type[R], **extra: Any) -> R | None:
    """The record one JSON line holds, decoded and checked in one pass of C code, or None.

    None means "not certainly a valid record": the caller then uses ``json.loads`` and
    :func:`parse_record`, which either explain the defect or accept what this decoder is stricter
    about (``NaN``, bytes that are not UTF-8, an escaped lone surrogate, an integer written ``1.0``).
    A record this returns is the one :func:`parse_record` would return: reading 100,000 records
    through the standard library takes seconds.
    """
    try:
        wire = _LINE.decode(line)
    except (msgspec.MsgspecError, ValueError):
        return None
    measured, pair = wire.measured or {}, wire.pair
    for key in COUNTS:
        value = measured.get(key, 0)
        if type(value) is not int or value < 0:  # a bool is not a count either
            return None
    if measured.get("blocked", 0) > measured.get("attempts", math.inf):
        return None
    if pair is not None:
        for key in ("attacker", "victim"):
            if not isinstance(pair.get(key), str | None):
                return None
    return record_type(
        control_id=wire.control_id,
        check_id=wire.check_id,
        status=_STATUS[wire.status],
        attack=wire.attack,
        summary="" if wire.summary is None else wire.summary,
        severity="" if wire.severity is None else wire.severity,
        reason=wire.reason,
        measured=measured,
        evidence=[] if wire.evidence is None else wire.evidence,
        pair=None if pair is None else {k: str(v) for k, v in pair.items() if v},
        target={} if wire.target is None else wire.target,
        run_id=wire.run_id,
        target_fingerprint=wire.target_fingerprint,
        started_at=wire.started_at,
        finished_at=wire.finished_at,
        **extra,
    )


def _error_order(error: jsonschema.ValidationError) -> tuple[int, list[str]]:
    # Missing keys first: "record without 'status'" says more than a complaint about a value.
    return (0 if error.validator == "required" else 1, [str(p) for p in error.absolute_path])


class ResultWriter:
    """Appends records to ``<results_dir>/<suite>-<pid>.jsonl``; safe to share between threads.

    Every record gets the writer's ``run_id`` and the fingerprint of its ``target`` (set the
    target when it is known: the fingerprint follows it).
    """

    def __init__(
        self, results_dir: Path, suite: str, target: dict[str, Any] | None = None, run_id: str | None = None
    ) -> None:
        results_dir.mkdir(parents=True, exist_ok=True)
        self.path = results_dir / f"{suite}-{os.getpid()}.jsonl"
        self.run_id = run_id or current_run_id()
        self.target = target or {}
        self._running: dict[str, str | None] = {"attack": None}  # shared with the facets of with_target
        self._lock = threading.Lock()
        self.count = 0
        self.outcomes: dict[str, dict[str, str]] = {}  # control -> status -> first reason, for the session summary

    @property
    def target(self) -> dict[str, Any]:
        return self._target

    @target.setter
    def target(self, identity: dict[str, Any]) -> None:
        self._target = identity
        self.target_fingerprint = target_fingerprint(identity)

    def with_target(self, identity: dict[str, Any]) -> ResultWriter:
        """A writer to the same file and run for another facet of the target (the cluster it runs on)."""
        other = ResultWriter.__new__(ResultWriter)
        other.path, other.run_id, other.target = self.path, self.run_id, identity
        other._lock, other.count, other._running = self._lock, 0, self._running
        other.outcomes = self.outcomes  # one session summary for every facet
        return other

    @property
    def attack(self) -> str | None:
        """The running check's attack class, given to each record it writes (facets follow the writer)."""
        return self._running["attack"]

    @attack.setter
    def attack(self, attack: str | None) -> None:
        self._running["attack"] = attack

    def stamp(self, document: dict[str, Any]) -> dict[str, Any]:
        """``document`` (a load result) with this writer's run id and target fingerprint."""
        document["run_id"] = self.run_id
        document["target_fingerprint"] = self.target_fingerprint
        return document

    def write(self, record: ResultRecord) -> None:
        if not record.target:
            record.target = self.target
        record.run_id = record.run_id or self.run_id
        record.target_fingerprint = record.target_fingerprint or target_fingerprint(record.target)
        record.attack = record.attack or self.attack
        line = record.to_json()
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            self.count += 1
            self.outcomes.setdefault(record.control_id, {}).setdefault(str(record.status), record.reason or "")

    def unassessed(self) -> dict[str, str]:
        """Controls with no pass or fail in this run, with a reason for each (a check's not-applicable one too)."""
        return {
            control: statuses.get("not_assessed") or statuses.get("error") or statuses.get("not_applicable") or ""
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
