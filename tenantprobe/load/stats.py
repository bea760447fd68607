"""Per-tenant load statistics at microsecond resolution, mergeable across locust workers.

Locust rounds its own statistics to whole milliseconds and knows nothing of tenants. A
:class:`LoadCollector` is fed every request (tenant, operation, start, duration, status)
and every *offered* arrival (the moment a tenant's Poisson schedule wanted a request),
keeps an HdrHistogram per tenant and phase, and turns into a plain-JSON "wire" dict that a
worker sends to the master, where :func:`merge_wires` adds them up. Offered and achieved
are counted separately because locust is a closed-loop generator: a slow target makes
the generator send less, which would otherwise look like a target that kept up.

Example::

    collector = LoadCollector(window_start=time.time(), phases=[Phase("main", 0.0)])
    collector.offer("t1", time.time())
    collector.record("t1", "read", start=time.time(), duration_ms=3.2, status=200)
    wire = collector.close(end=time.time())
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

LATENCY_MAX_US = 300_000_000  # 5 minutes: anything slower is clamped, never dropped
SIGNIFICANT_DIGITS = 3
ERROR_SAMPLES_PER_TENANT = 3


def _new_hdr() -> Any:
    # Imported here: the pytest plugin and the CLI use this module's percentile without the 'load' extra.
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(1, LATENCY_MAX_US, SIGNIFICANT_DIGITS)


class LatencyHistogram:
    """An HdrHistogram of microseconds plus the exact count, sum, min and max.

    Percentiles come from the histogram (within 0.1 %); the average and the extremes are exact.
    """

    def __init__(self) -> None:
        self._hdr = _new_hdr()
        self.count = 0
        self.sum_us = 0
        self.min_us = 0
        self.max_us = 0

    def record(self, micros: int) -> None:
        micros = min(max(micros, 1), LATENCY_MAX_US)
        self._hdr.record_value(micros)
        self.min_us = micros if self.count == 0 else min(self.min_us, micros)
        self.max_us = max(self.max_us, micros)
        self.count += 1
        self.sum_us += micros

    def merge(self, other: LatencyHistogram) -> None:
        if other.count == 0:
            return
        self._hdr.add(other._hdr)
        self.min_us = other.min_us if self.count == 0 else min(self.min_us, other.min_us)
        self.max_us = max(self.max_us, other.max_us)
        self.count += other.count
        self.sum_us += other.sum_us

    def percentile(self, percent: float) -> int:
        if self.count == 0:
            return 0
        return min(int(self._hdr.get_value_at_percentile(percent)), self.max_us)

    def summary(self) -> dict[str, float | int]:
        """count, avg/min/p50/p95/p99/max in microseconds (zeros when empty)."""
        return {
            "count": self.count,
            "avg_us": round(self.sum_us / self.count, 1) if self.count else 0.0,
            "min_us": self.min_us,
            "p50_us": self.percentile(50),
            "p95_us": self.percentile(95),
            "p99_us": self.percentile(99),
            "max_us": self.max_us,
        }

    def to_wire(self) -> dict[str, Any]:
        encoded = self._hdr.encode() if self.count else b""
        return {
            "hdr": base64.b64encode(encoded).decode() if isinstance(encoded, bytes) and encoded else "",
            "count": self.count,
            "sum_us": self.sum_us,
            "min_us": self.min_us,
            "max_us": self.max_us,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> LatencyHistogram:
        histogram = cls()
        if data["count"]:
            from hdrh.histogram import HdrHistogram

            histogram._hdr.add(HdrHistogram.decode(base64.b64decode(data["hdr"])))
        histogram.count = int(data["count"])
        histogram.sum_us = int(data["sum_us"])
        histogram.min_us = int(data["min_us"])
        histogram.max_us = int(data["max_us"])
        return histogram


@dataclass
class PhaseCounts:
    """What one tenant offered and got during one phase of the run."""

    offered: int = 0
    requests: int = 0
    ok: int = 0
    errors: int = 0
    throttled: int = 0
    throttled_without_retry_after: int = 0
    refused: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    lag: LatencyHistogram = field(default_factory=LatencyHistogram)

    def merge(self, other: PhaseCounts) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in HISTOGRAMS:
            getattr(self, name).merge(getattr(other, name))

    def to_wire(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COUNTERS} | {
            name: getattr(self, name).to_wire() for name in HISTOGRAMS
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> PhaseCounts:
        values: dict[str, Any] = {name: int(data[name]) for name in COUNTERS}
        values |= {name: LatencyHistogram.from_wire(data[name]) for name in HISTOGRAMS}
        return cls(**values)


# Merged and sent over the wire field by field: a counter added to PhaseCounts is carried without more code.
HISTOGRAMS = ("latency", "lag")
COUNTERS = tuple(f.name for f in fields(PhaseCounts) if f.name not in HISTOGRAMS)


@dataclass
class TenantStats:
    """One tenant's counts per phase, its per-second successes and a few error samples."""

    key: str
    first_active: float | None = None
    users: int = 0
    paced: bool = True
    phases: dict[str, PhaseCounts] = field(default_factory=dict)
    ok_per_second: Counter[int] = field(default_factory=Counter)
    error_samples: list[dict[str, Any]] = field(default_factory=list)

    def phase(self, name: str) -> PhaseCounts:
        if name not in self.phases:
            self.phases[name] = PhaseCounts()
        return self.phases[name]

    def merge(self, other: TenantStats) -> None:
        if other.first_active is not None:
            self.first_active = (
                other.first_active if self.first_active is None else min(self.first_active, other.first_active)
            )
        self.users += other.users
        self.paced = self.paced and other.paced
        for name, counts in other.phases.items():
            self.phase(name).merge(counts)
        self.ok_per_second.update(other.ok_per_second)
        room = ERROR_SAMPLES_PER_TENANT - len(self.error_samples)
        self.error_samples.extend(other.error_samples[: max(room, 0)])

    def to_wire(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "first_active": self.first_active,
            "users": self.users,
            "paced": self.paced,
            "phases": {name: counts.to_wire() for name, counts in self.phases.items()},
            "ok_per_second": {str(second): n for second, n in self.ok_per_second.items()},
            "error_samples": self.error_samples,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> TenantStats:
        return cls(
            key=data["key"],
            first_active=data["first_active"],
            users=data["users"],
            paced=data["paced"],
            phases={name: PhaseCounts.from_wire(counts) for name, counts in data["phases"].items()},
            ok_per_second=Counter({int(second): n for second, n in data["ok_per_second"].items()}),
            error_samples=list(data["error_samples"]),
        )


@dataclass(frozen=True)
class Phase:
    """A named part of the run that starts ``offset`` seconds after the window opens."""

    name: str
    offset: float


class LoadCollector:
    """Counts requests and offered arrivals inside the measurement window, per tenant and phase.

    Everything before ``window_start`` (warm-up) and after :meth:`close` is ignored, so that
    offered and achieved describe exactly the same interval.
    """

    def __init__(
        self,
        window_start: float,
        phases: Iterable[Phase] = (Phase("main", 0.0),),
        window_end: float | None = None,
        drain: float = 0.0,
    ) -> None:
        self.window_start = window_start
        self.phases = sorted(phases, key=lambda phase: phase.offset)
        if not self.phases or self.phases[0].offset != 0.0:
            raise ValueError("the first phase must start at offset 0")
        self.tenants: dict[str, TenantStats] = {}
        self.operations: dict[str, LatencyHistogram] = {}
        self.totals_per_second: dict[int, list[int]] = {}
        # Known in advance for a timed run, so that a request in flight when the run stops never
        # counts as offered-but-not-served; otherwise set by close().
        self.end: float | None = window_end
        self.drain = drain

    def phase_at(self, moment: float) -> str:
        offset = moment - self.window_start
        current = self.phases[0].name
        for phase in self.phases:
            if offset >= phase.offset:
                current = phase.name
        return current

    def _in_window(self, moment: float) -> bool:
        return moment >= self.window_start and (self.end is None or moment <= self.end)

    def tenant(self, key: str) -> TenantStats:
        if key not in self.tenants:
            self.tenants[key] = TenantStats(key)
        return self.tenants[key]

    def join(self, key: str, started: float, paced: bool = True) -> None:
        """A user starts driving tenant ``key`` at ``started``."""
        stats = self.tenant(key)
        stats.users += 1
        stats.paced = stats.paced and paced
        started = max(started, self.window_start)
        stats.first_active = started if stats.first_active is None else min(stats.first_active, started)

    def offer(self, key: str, intended: float) -> None:
        """The tenant's schedule wanted a request at ``intended`` (an epoch time)."""
        if self._in_window(intended):
            self.tenant(key).phase(self.phase_at(intended)).offered += 1

    def record(
        self,
        key: str,
        operation: str,
        start: float,
        duration_ms: float,
        status: int,
        failed: bool = False,
        retry_after: bool = True,
        message: str = "",
        intended: float | None = None,
    ) -> None:
        """One completed request: 429 is throttled, a failure an error, another status >= 400 that the
        scenario accepted (``failed=False``: a flooder's quota refusal) is refused; the rest is ok."""
        # A request belongs to the window and phase in which it was sent (so a generator that fell
        # behind still shows what the target served); it must complete within the drain to count.
        # How late it was sent against the tenant's schedule is kept apart, as the lag.
        completed = start + duration_ms / 1000
        if not self._in_window(start) or (self.end is not None and completed > self.end + self.drain):
            return
        counts = self.tenant(key).phase(self.phase_at(start))
        counts.requests += 1
        if intended is not None:
            counts.lag.record(max(round((start - intended) * 1_000_000), 0))
        second = int(completed - self.window_start)
        total = self.totals_per_second.setdefault(second, [0, 0, 0, 0])
        if status == 429:
            counts.throttled += 1
            counts.throttled_without_retry_after += 0 if retry_after else 1
            total[1] += 1
        elif failed:
            counts.errors += 1
            total[2] += 1
            stats = self.tenant(key)
            if len(stats.error_samples) < ERROR_SAMPLES_PER_TENANT:
                stats.error_samples.append({"operation": operation, "status": status, "message": message[:300]})
        elif status >= 400:
            counts.refused += 1
            total[3] += 1
        else:
            micros = round(duration_ms * 1000)
            counts.ok += 1
            counts.latency.record(micros)
            self.operations.setdefault(operation, LatencyHistogram()).record(micros)
            self.tenant(key).ok_per_second[second] += 1
            total[0] += 1

    def close(self, end: float) -> dict[str, Any]:
        """Stop counting (at ``end`` unless the window end was known) and return the wire form."""
        self.end = end if self.end is None else min(self.end, end)
        return self.to_wire()

    def to_wire(self) -> dict[str, Any]:
        return {
            "tenants": [stats.to_wire() for stats in self.tenants.values()],
            "operations": {name: histogram.to_wire() for name, histogram in self.operations.items()},
            "totals_per_second": {str(second): counts for second, counts in self.totals_per_second.items()},
        }


@dataclass
class MergedStats:
    tenants: dict[str, TenantStats] = field(default_factory=dict)
    operations: dict[str, LatencyHistogram] = field(default_factory=dict)
    totals_per_second: dict[int, list[int]] = field(default_factory=dict)


def merge_wires(wires: Iterable[dict[str, Any]]) -> MergedStats:
    """Add up the wire forms of several collectors (one per locust worker)."""
    merged = MergedStats()
    for wire in wires:
        for data in wire["tenants"]:
            stats = TenantStats.from_wire(data)
            if stats.key in merged.tenants:
                merged.tenants[stats.key].merge(stats)
            else:
                merged.tenants[stats.key] = stats
        for name, data in wire["operations"].items():
            merged.operations.setdefault(name, LatencyHistogram()).merge(LatencyHistogram.from_wire(data))
        for second, counts in wire["totals_per_second"].items():
            total = merged.totals_per_second.setdefault(int(second), [0, 0, 0, 0])
            for index, value in enumerate(counts):
                total[index] += value
    return merged


def jain_index(values: Iterable[float]) -> float | None:
    """Jain's fairness index (sum x)^2 / (n * sum x^2): 1.0 is perfectly fair, 1/n is one takes all."""
    xs = [float(x) for x in values]
    if not xs:
        return None
    squares = sum(x * x for x in xs)
    if squares == 0:
        return 1.0
    return (sum(xs) ** 2) / (len(xs) * squares)


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of plain samples (0 < percent <= 100): always one of the samples.

    The one implementation for samples kept whole (provisioning times); latencies go through
    :class:`LatencyHistogram`, whose percentiles HdrHistogram computes the same way.
    """
    if not values:
        raise ValueError("percentile of no samples")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def summary(values: Sequence[float]) -> dict[str, float] | None:
    """count, avg, p50, p95 and max of plain samples (seconds), or None when there are none."""
    if not values:
        return None
    return {
        "count": len(values),
        "avg": round(sum(values) / len(values), 6),
        "p50": round(percentile(values, 50), 6),
        "p95": round(percentile(values, 95), 6),
        "max": round(max(values), 6),
    }


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 3) if seconds > 0 else 0.0


def ratio(achieved: int, offered: int) -> float | None:
    return round(achieved / offered, 4) if offered else None


def finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None
