"""CPU and memory of the target's processes during a load run (psutil).

Processes are sampled as groups (``api``, ``postgres``), each a root pid and all its
descendants at sampling time. CPU is computed from ``cpu_times`` deltas, so a backend that
appears between two samples counts from its birth and nothing is lost to psutil's
first-call-returns-zero behaviour. ``cpu_percent`` is a share of the *whole machine*
(100 % = every core busy), the unit of the PERF-RESOURCE-UTILIZATION control;
``cpu_core_percent`` is the per-core figure that ``top`` shows.

Example::

    sampler = ProcessSampler({"api": [1234], "postgres": [1200]})
    sampler.sample()          # prime
    time.sleep(1)
    sampler.sample()          # {"t": ..., "cpu_percent": {"api": 31.5, ...}, ...}
"""

from __future__ import annotations

import time
from typing import Any

import psutil


class ProcessSampler:
    def __init__(self, groups: dict[str, list[int]], exclude: list[int] | None = None) -> None:
        self.groups = {name: list(pids) for name, pids in groups.items() if pids}
        # Processes (with their descendants) never counted here, e.g. a target the load
        # generator started as its own child.
        self.exclude = list(exclude or [])
        self.cpu_count = psutil.cpu_count() or 1
        self.memory_total = psutil.virtual_memory().total
        self._last_cpu: dict[int, float] = {}
        self._last_time: float | None = None
        self.samples: list[dict[str, Any]] = []

    def _tree(self, pids: list[int], skip: frozenset[int] = frozenset()) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for pid in pids:
            try:
                root = psutil.Process(pid)
                found.append(root)
                found.extend(root.children(recursive=True))
            except psutil.Error:
                continue
        return [process for process in found if process.pid not in skip]

    def sample(self) -> dict[str, Any] | None:
        """Take one sample; the first call only primes the CPU counters and returns None."""
        now = time.time()
        elapsed = None if self._last_time is None else now - self._last_time
        cpu: dict[str, float] = {}
        rss: dict[str, int] = {}
        seen: dict[int, float] = {}
        skip = frozenset(process.pid for process in self._tree(self.exclude))
        for name, pids in self.groups.items():
            busy = 0.0
            memory = 0
            for process in self._tree(pids, skip):
                try:
                    times = process.cpu_times()
                    memory += process.memory_info().rss
                except psutil.Error:
                    continue
                total = times.user + times.system
                seen[process.pid] = total
                busy += total - self._last_cpu.get(process.pid, total if elapsed is None else 0.0)
            cpu[name] = busy
            rss[name] = memory
        self._last_cpu = seen
        self._last_time = now
        if not elapsed:
            return None
        core_percent = {name: round(100 * busy / elapsed, 2) for name, busy in cpu.items()}
        record = {
            "t": now,
            "elapsed_s": round(elapsed, 4),
            "cpu_core_percent": {**core_percent, "total": round(sum(core_percent.values()), 2)},
            "cpu_percent": {
                **{name: round(value / self.cpu_count, 2) for name, value in core_percent.items()},
                "total": round(sum(core_percent.values()) / self.cpu_count, 2),
            },
            "rss_bytes": {**rss, "total": sum(rss.values())},
        }
        self.samples.append(record)
        return record

    def report(self, window_start: float | None = None, window_end: float | None = None) -> dict[str, Any]:
        """The samples inside the window (if given) and their peaks, as the load result's ``resources``."""
        samples = [
            s
            for s in self.samples
            if (window_start is None or s["t"] >= window_start) and (window_end is None or s["t"] <= window_end + 1)
        ]
        if not samples:
            return {
                "available": False,
                "reason": "no resource sample fell inside the measurement window (the run was too short)",
                "groups": self.groups,
            }
        totals = [s["cpu_percent"]["total"] for s in samples]
        rss_max = max(s["rss_bytes"]["total"] for s in samples)
        return {
            "available": True,
            "cpu_count": self.cpu_count,
            "memory_total_bytes": self.memory_total,
            "groups": self.groups,
            "interval_s": 1,
            "samples": [{**s, "t": round(s["t"] - (window_start or samples[0]["t"]), 3)} for s in samples],
            "summary": {
                "cpu_percent_max": max(totals),
                "cpu_percent_avg": round(sum(totals) / len(totals), 2),
                "cpu_core_percent_max": max(s["cpu_core_percent"]["total"] for s in samples),
                "rss_bytes_max": rss_max,
                "memory_percent_max": round(100 * rss_max / self.memory_total, 3),
                # CPU time the target spent over the samples: divided by the requests served in
                # the same time it is a cost per request that does not depend on contention.
                "cpu_core_seconds": round(
                    sum(s["cpu_core_percent"]["total"] / 100 * s["elapsed_s"] for s in samples), 3
                ),
                "sampled_seconds": round(sum(s["elapsed_s"] for s in samples), 3),
            },
        }


def unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason, "groups": {}}
