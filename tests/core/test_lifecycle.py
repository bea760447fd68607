"""The ``with`` protocol of long-lived resources: the stop runs whatever the block does."""

from __future__ import annotations

import pytest

from tenantprobe.lifecycle import Service


class _Recorder(Service[str]):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> str:
        self.calls.append("start")
        return "handle"

    def stop(self) -> None:
        self.calls.append("stop")


def test_with_binds_what_start_returns_and_stops_after() -> None:
    service = _Recorder()
    with service as handle:
        assert handle == "handle"
        assert service.calls == ["start"]
    assert service.calls == ["start", "stop"]


def test_with_stops_when_the_block_raises_and_lets_the_error_through() -> None:
    service = _Recorder()
    with pytest.raises(RuntimeError, match="boom"), service:
        raise RuntimeError("boom")
    assert service.calls == ["start", "stop"]


def test_a_service_without_stop_cannot_be_made() -> None:
    class Half(Service[None]):
        def start(self) -> None:
            return None

    with pytest.raises(TypeError, match="stop"):
        Half()  # type: ignore[abstract]
