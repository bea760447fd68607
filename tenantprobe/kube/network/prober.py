"""Probing reachability from inside pods and comparing it with the policies' expected truth table.

A :class:`PodExec` runs the :mod:`netprobe` client inside a pod's network. :class:`KubeExec`
does it as ``kubectl exec`` does, through the apiserver's ``pods/exec``, on any cluster: the
kubelet of a real node, or the local probe node's agent, which serves the kubelet's exec
endpoint with ``ip netns exec``. One exec per source pod probes all of its targets at once;
sources run in parallel.

Each destination server is pre-checked first, from inside its own pod to its own address (a
blocked probe looks "refused", the same as a closed port, so an unchecked server proves
nothing). A cell whose server failed its pre-check is *not assessed*. A mismatch with the
expectation is probed once more before it counts, since an enforcer applies changes
asynchronously.

Example::

    result = Prober(KubeExec(cluster.admin)).run(engine.matrix(ports), pods)
    result.mismatches("allowed")     # cells the policies deny but traffic flowed
    print(result.table(PortProtocol(8080, "TCP")))
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Protocol

from tenantprobe.kube.client.api import KubeClient
from tenantprobe.kube.network.pods import netprobe_command
from tenantprobe.kube.network.policy import Matrix, Pod, PortProtocol, Verdict

Outcome = Literal["match", "allowed", "blocked", "not_assessed"]
_MARKS: dict[Outcome, tuple[str, str]] = {
    "match": (".", "x"),  # allowed as expected, blocked as expected
    "allowed": ("A", "A"),  # flowed although the policies deny it
    "blocked": ("B", "B"),  # blocked although the policies allow it
    "not_assessed": ("?", "?"),
}
LEGEND = (
    ". allowed as expected, x blocked as expected, A allowed though denied, B blocked though allowed, "
    "? not assessed, - self"
)


class PodExec(Protocol):
    """Runs ``netprobe.py <args>`` inside a pod's network (an interface, so the judgement is testable alone)."""

    def netprobe(self, pod: str, args: Sequence[str], timeout: float) -> tuple[int, str, str]:
        """Exit code, stdout and stderr of the client run in ``pod`` ("namespace/name")."""
        ...


@dataclass
class KubeExec:
    """``pods/exec`` through the apiserver into the probe container, which carries ``netprobe.py``."""

    client: KubeClient

    def netprobe(self, pod: str, args: Sequence[str], timeout: float) -> tuple[int, str, str]:
        namespace, name = pod.split("/", 1)
        return self.client.exec(namespace, name, netprobe_command(*args), timeout=timeout)


@dataclass(frozen=True)
class Cell:
    verdict: Verdict
    observed: str  # connected / refused / timeout / error: ... / not probed: why
    outcome: Outcome
    attempts: int

    @property
    def cross_namespace(self) -> bool:
        return self.verdict.src.split("/")[0] != self.verdict.dst.split("/")[0]

    def evidence(self) -> dict[str, object]:
        return {**self.verdict.as_evidence(), "observed": self.observed, "probes": self.attempts}


@dataclass
class MatrixResult:
    """Expected versus observed, per cell; self cells are left out, as upstream e2e does."""

    pods: tuple[str, ...]
    ports: tuple[PortProtocol, ...]
    cells: dict[tuple[str, str, PortProtocol], Cell] = field(default_factory=dict)
    precheck_failures: dict[str, str] = field(default_factory=dict)
    probes: int = 0
    seconds: float = 0.0

    @property
    def probes_per_second(self) -> float:
        return self.probes / self.seconds if self.seconds else 0.0

    def mismatches(self, outcome: Outcome) -> list[Cell]:
        return [c for c in self.cells.values() if c.outcome == outcome]

    def table(self, port: PortProtocol) -> str:
        """Rows are sources, columns destinations (numbered as the rows)."""
        lines = [f"{port}: {LEGEND}", "\t".join(["", *(str(i) for i in range(len(self.pods)))])]
        for i, src in enumerate(self.pods):
            marks = []
            for dst in self.pods:
                cell = self.cells.get((src, dst, port))
                marks.append("-" if cell is None else _MARKS[cell.outcome][0 if cell.verdict.allowed else 1])
            lines.append("\t".join([f"{i} {src}", *marks]))
        return "\n".join(lines)


def _outcome(verdict: Verdict, observed: str) -> Outcome:
    if observed.startswith(("error", "not probed")):
        return "not_assessed"
    flowed = observed == "connected"
    if flowed == verdict.allowed:
        return "match"
    return "allowed" if flowed else "blocked"


@dataclass
class Prober:
    pod_exec: PodExec
    timeout: float = 2.0  # only allowed probes wait: blocked ones are REJECTed at once
    workers: int = 8
    reprobe_delay: float = 2.0  # an enforcer applies policy changes asynchronously: give it time

    def _batch(self, requests: Mapping[str, Sequence[str]]) -> dict[tuple[str, str], str]:
        """Run each source's targets in one exec, sources in parallel: (source, target) -> observation."""

        def run(src: str) -> list[tuple[tuple[str, str], str]]:
            targets = requests[src]
            budget = 30 + self.timeout * (1 + len(targets) // 64)
            code, out, err = self.pod_exec.netprobe(src, ["connect", f"--timeout={self.timeout}", *targets], budget)
            answers = {}
            for line in out.splitlines():
                with contextlib.suppress(ValueError, KeyError, TypeError):  # a line cut short: its target is unanswered
                    row = json.loads(line)
                    answers[row["target"]] = row["result"]
            why = f"error: exec in {src} exited {code}: {err.strip()[:300]}"
            return [((src, t), answers.get(t, why)) for t in targets]

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return dict(pair for rows in pool.map(run, [s for s in requests if requests[s]]) for pair in rows)

    def precheck(self, pods: Iterable[Pod]) -> dict[str, str]:
        """Each pod probes its own ports at its own address; returns the pods whose servers failed, and why."""
        requests = {p.key: [f"{p.ip}:{port.port}/{port.protocol}" for port in p.ports] for p in pods}
        failures: dict[str, str] = {}
        for (src, target), observed in self._batch(requests).items():
            if observed != "connected":
                failures[src] = f"server pre-check {target}: {observed}"
        return failures

    def run(self, expected: Matrix, pods: Mapping[str, Pod]) -> MatrixResult:
        started = time.monotonic()
        result = MatrixResult(expected.pods, expected.ports)
        result.precheck_failures = self.precheck(pods[k] for k in expected.pods)
        pending: dict[tuple[str, str, PortProtocol], Verdict] = {}
        for verdict in expected:
            if verdict.src == verdict.dst:
                continue
            port = PortProtocol(verdict.port, verdict.protocol)
            key = (verdict.src, verdict.dst, port)
            broken = result.precheck_failures.get(verdict.dst) or result.precheck_failures.get(verdict.src)
            if broken:
                result.cells[key] = Cell(verdict, f"not probed: {broken}", "not_assessed", 0)
            else:
                pending[key] = verdict
        attempts = dict.fromkeys(pending, 0)
        for attempt in range(2):  # the probe, and one re-probe of what did not match
            if attempt:
                time.sleep(self.reprobe_delay)
            requests: dict[str, list[str]] = {}
            for src, dst, port in pending:
                requests.setdefault(src, []).append(f"{pods[dst].ip}:{port.port}/{port.protocol}")
            observed = self._batch(requests)
            result.probes += len(observed)
            for key, verdict in list(pending.items()):
                src, dst, port = key
                seen = observed[(src, f"{pods[dst].ip}:{port.port}/{port.protocol}")]
                attempts[key] += 1
                result.cells[key] = Cell(verdict, seen, _outcome(verdict, seen), attempts[key])
                if result.cells[key].outcome == "match":
                    del pending[key]
            if not pending:
                break
        result.seconds = time.monotonic() - started
        return result
