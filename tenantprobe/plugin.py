"""The pytest plugin: target selection options and the shared fixtures of the suites.

Registered by the root ``conftest.py`` and by the ``pytest11`` entry point (same name, so
it is loaded once). Heavy imports stay inside fixtures so that ``pytest --help`` is fast.
"""

from __future__ import annotations

import pytest

GROUP = "tenantprobe"
OPTION_TARGET = "--target"
OPTION_FAULTS = "--faults"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "tenantprobe: multi-tenant isolation checks")
    group.addoption(
        OPTION_TARGET, default=None, help="target profile (YAML); default: start the reference app"
    )
    group.addoption(
        OPTION_FAULTS, default="", help="seeded faults to inject into the reference app (comma-separated)"
    )
