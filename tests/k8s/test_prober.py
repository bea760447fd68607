"""The prober's judgement, and the netprobe client against real sockets and a real network namespace.

The comparison logic runs against a scripted PodExec (pure logic: what an exec answered is the
input). The client and servers run for real on loopback; the stale-resource sweep on a real
network namespace named for a process that no longer exists.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from tenantprobe.kube.local.enforcer import pods_rules
from tenantprobe.kube.local.podnet import ROOT, ip, sweep_stale
from tenantprobe.kube.network import netprobe
from tenantprobe.kube.network.policy import PolicyEngine, PortProtocol
from tenantprobe.kube.network.probenode import local_probing_unavailable
from tenantprobe.kube.network.prober import Prober

PORT = PortProtocol(8080, "TCP")
DENY_B = {
    "metadata": {"name": "deny", "namespace": "b"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


def _pod(namespace: str, ip_address: str) -> dict[str, object]:
    return {
        "metadata": {"name": "p", "namespace": namespace},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
        "status": {"podIP": ip_address},
    }


@dataclass
class ScriptedExec:
    """Answers each target with the next scripted result; records every exec."""

    answers: dict[str, list[str]]
    calls: list[tuple[str, list[str]]] = field(default_factory=list)

    def netprobe(self, pod: str, args: Sequence[str], timeout: float) -> tuple[int, str, str]:
        targets = [a for a in args if ":" in a]
        self.calls.append((pod, targets))
        lines = [f'{{"target": "{t}", "result": "{self.answers[t].pop(0)}"}}' for t in targets]
        return 0, "\n".join(lines), ""


@dataclass
class CallableExec:
    run: Callable[[str, Sequence[str], float], tuple[int, str, str]]

    def netprobe(self, pod: str, args: Sequence[str], timeout: float) -> tuple[int, str, str]:
        return self.run(pod, args, timeout)


def _engine() -> PolicyEngine:
    namespaces = [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]
    return PolicyEngine(namespaces, [_pod("a", "10.0.0.1"), _pod("b", "10.0.0.2")], [DENY_B])


def test_prober_judges_each_cell_and_reprobes_only_mismatches() -> None:
    engine = _engine()
    scripted = ScriptedExec(
        {
            "10.0.0.1:8080/TCP": ["connected", "connected"],  # pre-check of a, then b -> a (allowed)
            "10.0.0.2:8080/TCP": ["connected", "connected", "connected"],  # pre-check of b, a -> b twice
        }
    )
    result = Prober(scripted, reprobe_delay=0).run(engine.matrix([PORT]), engine.pods)
    a_to_b = result.cells[("a/p", "b/p", PORT)]
    assert (a_to_b.outcome, a_to_b.attempts) == ("allowed", 2), "denied by b's policy, flowed twice"
    assert result.cells[("b/p", "a/p", PORT)].outcome == "match"
    assert ("a/p", "a/p", PORT) not in result.cells, "self cells are left out"
    assert result.probes == 3
    assert result.table(PORT).splitlines()[2:] == ["0 a/p\t-\tA", "1 b/p\t.\t-"]


def test_a_transient_mismatch_is_settled_by_the_reprobe() -> None:
    engine = _engine()
    scripted = ScriptedExec(
        {"10.0.0.1:8080/TCP": ["connected", "timeout", "connected"], "10.0.0.2:8080/TCP": ["connected", "refused"]}
    )
    result = Prober(scripted, reprobe_delay=0).run(engine.matrix([PORT]), engine.pods)
    assert {c.outcome for c in result.cells.values()} == {"match"}


def test_an_answer_cut_short_leaves_its_cell_not_assessed() -> None:
    engine = _engine()

    def cut(pod: str, args: Sequence[str], timeout: float) -> tuple[int, str, str]:
        whole = "".join(f'{{"target": "{t}", "result": "connected"}}\n' for t in args if ":" in t)
        return 124, whole[:-10] if "a/p" in pod and "10.0.0.2:8080/TCP" in args else whole, "no end after 30 s"

    result = Prober(CallableExec(cut), reprobe_delay=0).run(engine.matrix([PORT]), engine.pods)
    a_to_b = result.cells[("a/p", "b/p", PORT)]
    assert (a_to_b.outcome, a_to_b.observed) == ("not_assessed", "error: exec in a/p exited 124: no end after 30 s")
    assert result.cells[("b/p", "a/p", PORT)].outcome == "match", "b's complete answer still counts"


def test_a_server_that_fails_its_precheck_leaves_its_cells_not_assessed() -> None:
    engine = _engine()
    scripted = ScriptedExec({"10.0.0.1:8080/TCP": ["connected"], "10.0.0.2:8080/TCP": ["refused"]})
    result = Prober(scripted).run(engine.matrix([PORT]), engine.pods)
    assert result.precheck_failures == {"b/p": "server pre-check 10.0.0.2:8080/TCP: refused"}
    assert {c.outcome for c in result.cells.values()} == {"not_assessed"}, "never a pass without a live server"
    assert result.probes == 0


@pytest.fixture
def servers() -> Iterator[tuple[int, int]]:
    tcp, udp = (_free(kind) for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM))
    command = [sys.executable, netprobe.__file__, "serve", f"--tcp={tcp}", f"--udp={udp}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    yield tcp, udp
    process.kill()
    process.wait()
    process.stdout.close()


def _free(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_netprobe_client_tells_connected_from_refused(
    servers: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    tcp, udp = servers
    closed_tcp, closed_udp = _free(socket.SOCK_STREAM), _free(socket.SOCK_DGRAM)
    assert netprobe.probe(f"127.0.0.1:{tcp}/TCP", 2) == "connected"
    assert netprobe.probe(f"127.0.0.1:{udp}/UDP", 2) == "connected"
    assert netprobe.probe(f"127.0.0.1:{closed_tcp}/TCP", 2) == "refused"
    assert netprobe.probe(f"127.0.0.1:{closed_udp}/UDP", 2) == "refused"


def test_sweep_removes_what_a_dead_run_left_and_keeps_live_ones() -> None:
    reason = local_probing_unavailable()
    if reason:
        pytest.skip(reason)
    dead = f"{ROOT}{0x3FFFFF:x}-1"  # above any pid_max this kernel hands out, so never alive
    live = f"{ROOT}{1:x}-test"  # pid 1 always exists
    for name in (dead, live):
        ip("netns", "add", name)
    try:
        removed = sweep_stale()
        names = ip("netns", "list")
        assert dead in removed
        assert dead not in names
        assert live in names
    finally:
        for name in (dead, live):
            ip("netns", "delete", name, check=False)


JUMP = '-A KUBE-ROUTER-FORWARD -m comment --comment "rule to jump traffic destined to POD name:{} to chain {}" -j {}'
RULES = "\n".join(
    [
        JUMP.format("web namespace: a", "KUBE-POD-FW-AAA", "KUBE-POD-FW-AAA"),
        '-A KUBE-POD-FW-AAA -m comment --comment "run through nw policy allow" -j KUBE-NWPLCY-PPP',
        "-A KUBE-NWPLCY-PPP -m set --match-set KUBE-SRC-SSS src -j MARK --set-xmark 0x10000/0x10000",
        JUMP.format("web namespace: b", "KUBE-POD-FW-BBB", "KUBE-POD-FW-BBB"),
        "-A KUBE-POD-FW-BBB -j REJECT",
    ]
)
IPSETS = "create KUBE-SRC-SSS hash:ip\nadd KUBE-SRC-SSS 10.1.0.9\nadd KUBE-SRC-OTHER 10.1.0.3\n"


def test_pods_rules_keep_only_what_decides_the_wanted_pods_traffic() -> None:
    named, rules = pods_rules(RULES, IPSETS, {("web", "a")})
    assert named
    assert "KUBE-POD-FW-BBB" not in rules, "another run's pod: its changes must not hold this run up"
    assert "-A KUBE-NWPLCY-PPP" in rules, "the policy chain the pod's chain runs through"
    assert "add KUBE-SRC-SSS 10.1.0.9" in rules, "the members of the sets it matches"
    assert "KUBE-SRC-OTHER" not in rules
    assert not pods_rules(RULES, IPSETS, {("web", "a"), ("worker", "a")})[0], "a pod without its chain yet"
