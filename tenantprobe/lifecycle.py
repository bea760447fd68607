"""The ``with`` protocol shared by the harness's long-lived resources (engines, servers, clusters).

Each resource is started by ``start()`` and released by ``stop()``; ``with`` makes the release certain
whatever the block raises, so a failed run leaves no process, container or directory behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Generic, TypeVar

T_co = TypeVar("T_co", covariant=True)


class Service(ABC, Generic[T_co]):
    """A resource whose ``with`` block starts it (yielding what ``start`` returns) and stops it on leaving."""

    @abstractmethod
    def start(self) -> T_co:
        """Bring the resource up; what it returns is what ``with … as x`` binds."""

    @abstractmethod
    def stop(self) -> None:
        """Release everything ``start`` took; safe to call after a partial start."""

    def __enter__(self) -> T_co:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
