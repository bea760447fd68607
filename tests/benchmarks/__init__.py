"""Tests of the benchmark scripts' pure parts; ``load`` reads a script module from its file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parents[2]


def load(name: str, relative: str) -> ModuleType:
    """The module at ``ROOT / relative`` as ``name``: benchmarks/ is a script directory, not a package.

    dataclasses look their module up in sys.modules, hence the registration before it runs.
    """
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
