"""The control catalogue: what a run must prove, with ids that results and reports refer to.

Example::

    catalogue = load_catalogue()
    control = catalogue.get("API-CROSS-TENANT-READ")
    control.weight  # 10.0: critical (10) times risk 1
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from tenantprobe.errors import InternalError, ProfileError

Severity = Literal["critical", "high", "medium", "low"]
Layer = Literal["data", "application", "api", "infrastructure", "network", "operations"]
SEVERITY_WEIGHT: dict[str, float] = {"critical": 10.0, "high": 5.0, "medium": 2.0, "low": 1.0}


@dataclass(frozen=True)
class Measure:
    kind: Literal["check", "metric"]
    source: str
    name: str | None = None
    comparator: str | None = None
    threshold: float | None = None
    unit: str | None = None

    def satisfied_by(self, value: float) -> bool:
        """Whether a measured value meets the threshold of a metric control."""
        if self.threshold is None or self.comparator is None:
            raise InternalError("satisfied_by() called on a measure without a threshold")
        return {
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            ">": value > self.threshold,
            ">=": value >= self.threshold,
        }[self.comparator]


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    layer: Layer
    severity: Severity
    phase_metric: str
    measure: Measure
    what: str
    why: str
    how: str
    remediation: str
    isolation: bool = False
    gate: bool = False  # a run without evidence for it must not end green (see tenantprobe.gaps)
    risk: float = 1.0

    @property
    def weight(self) -> float:
        return SEVERITY_WEIGHT[self.severity] * self.risk


@dataclass(frozen=True)
class Catalogue:
    version: str
    controls: dict[str, Control]
    phase_metrics: dict[str, dict[str, str]] = field(default_factory=dict)
    attack_classes: dict[str, str] = field(default_factory=dict)  # id -> title, in the report's order

    def get(self, control_id: str) -> Control:
        """The control with this id; an unknown id is an error naming the closest ids."""
        try:
            return self.controls[control_id]
        except KeyError:
            close = difflib.get_close_matches(control_id, self.controls, n=3, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ProfileError(f"unknown control id {control_id!r}.{hint}") from None

    def __iter__(self) -> Iterator[Control]:
        return iter(self.controls.values())


def _control(raw: dict[str, Any]) -> Control:
    return Control(**{**raw, "measure": Measure(**raw["measure"])})


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with tenantprobe (``tenantprobe/catalogue.yaml``)."""
    text = resources.files("tenantprobe").joinpath("catalogue.yaml").read_text()
    # libyaml when PyYAML has it: every suite run and report loads the catalogue, 0.14 s of CPU in pure Python.
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)
    controls = {entry["id"]: _control(entry) for entry in raw["controls"]}
    if len(controls) != len(raw["controls"]):
        raise InternalError("duplicate control id in catalogue.yaml")
    return Catalogue(
        version=str(raw["version"]),
        controls=controls,
        phase_metrics=raw["phase_metrics"],
        attack_classes=raw["attack_classes"],
    )
