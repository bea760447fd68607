"""The expected-reachability engine against the upstream NetworkPolicy e2e cases and cyclonus' semantics.

The model is upstream's and cyclonus': namespaces x, y, z, each with pods a, b, c labelled
``pod: <name>``, every pod serving 80 and 81 on TCP, UDP and SCTP under the names
``serve-<port>-<protocol>``. Expected truth tables are built the way upstream's
``reachability.go`` builds them (everything allowed, then carve-outs), and each test's docstring
names the upstream case it ports, from kubernetes/kubernetes ``test/e2e/network/netpol/network_policy.go``
(the 3 x 3 model, before it moved to per-test pod subsets). Loopback cells are compared too: the
engine follows the policies for a pod talking to itself, as cyclonus does, where upstream skips them.

Then the tenant template: its NetworkPolicies, built here as data, and the four seeded network
faults of issue 9, with what the engine says each one exposes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from kubernetes.client import (
    ApiClient,
    V1Container,
    V1ContainerPort,
    V1LabelSelector,
    V1LabelSelectorRequirement,
    V1Namespace,
    V1NetworkPolicy,
    V1NetworkPolicyEgressRule,
    V1NetworkPolicyIngressRule,
    V1NetworkPolicyPeer,
    V1NetworkPolicyPort,
    V1NetworkPolicySpec,
    V1ObjectMeta,
    V1Pod,
    V1PodSpec,
    V1PodStatus,
)

from tenantprobe.errors import ProfileError
from tenantprobe.kube.network.policy import (
    PROTOCOLS,
    ContainerPort,
    Matrix,
    Namespace,
    NetworkPolicy,
    Pod,
    PolicyEngine,
    PortProtocol,
    Protocol,
    expected_matrix,
)

Policy = dict[str, Any]
NS_LABEL = "kubernetes.io/metadata.name"
NAMESPACES = ("x", "y", "z")
POD_NAMES = ("a", "b", "c")
ALL_PORTS = [PortProtocol(port, protocol) for port in (80, 81) for protocol in PROTOCOLS]


# --- the upstream model ----------------------------------------------------------------------------


def pod_ip(namespace: str, name: str) -> str:
    return f"192.168.{NAMESPACES.index(namespace) + 1}.{POD_NAMES.index(name) + 10}"


def model_namespaces(labels: Mapping[str, Mapping[str, str]] | None = None) -> list[Namespace]:
    return [Namespace(ns, {"ns": ns, **(labels or {}).get(ns, {})}) for ns in NAMESPACES]


def model_pods(labels: Mapping[str, Mapping[str, str]] | None = None) -> list[Pod]:
    ports = tuple(
        ContainerPort(port, protocol, f"serve-{port}-{protocol.lower()}") for port in (80, 81) for protocol in PROTOCOLS
    )
    return [
        Pod(ns, name, {"pod": name, **(labels or {}).get(f"{ns}/{name}", {})}, pod_ip(ns, name), ports)
        for ns in NAMESPACES
        for name in POD_NAMES
    ]


def model_matrix(*policies: Policy, namespace_labels: Any = None, pod_labels: Any = None) -> Matrix:
    return expected_matrix(model_namespaces(namespace_labels), model_pods(pod_labels), policies, ALL_PORTS)


def netpol(
    name: str,
    target: Mapping[str, str] | None = None,
    *,
    namespace: str = "x",
    ingress: list[Policy] | None = None,
    egress: list[Policy] | None = None,
    types: Sequence[str] | None = None,
    selector: Policy | None = None,
) -> Policy:
    """A policy dict as upstream's generators make it: ingress/egress given means that type is set."""
    spec: Policy = {"podSelector": selector if selector is not None else {"matchLabels": dict(target or {})}}
    if types is None:
        types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
    if types:
        spec["policyTypes"] = list(types)
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}  # fmt: skip


def labels(**kv: str) -> Policy:
    return {"matchLabels": dict(kv)}


def ns_is(*names: str, op: str = "In") -> Policy:
    return {"matchExpressions": [{"key": NS_LABEL, "operator": op, "values": list(names)}]}


class Reachability:
    """Upstream's reachability.go: every pair allowed, then expectations carved out in order."""

    def __init__(self, default: bool = True) -> None:
        self.pods = [f"{ns}/{name}" for ns in NAMESPACES for name in POD_NAMES]
        self.cells = {(s, d): default for s in self.pods for d in self.pods}

    def expect(self, src: str, dst: str, value: bool) -> Reachability:
        self.cells[(src, dst)] = value
        return self

    def expect_peer(self, src: str = "", dst: str = "", *, value: bool) -> Reachability:
        """``src``/``dst`` as upstream's Peer: "" any pod, "x" a namespace, "x/a" one pod."""
        for s, d in self.cells:
            if _peer_is(src, s) and _peer_is(dst, d):
                self.cells[(s, d)] = value
        return self

    def expect_all_ingress(self, pod: str, value: bool) -> Reachability:
        return self.expect_peer("", pod, value=value)

    def expect_all_egress(self, pod: str, value: bool) -> Reachability:
        return self.expect_peer(pod, "", value=value)

    def table(self) -> str:
        rows = ["\t".join(["-", *self.pods])]
        rows += ["\t".join([s, *("." if self.cells[(s, d)] else "X" for d in self.pods)]) for s in self.pods]
        return "\n".join(rows)


def _peer_is(peer: str, pod: str) -> bool:
    return not peer or peer == pod or peer == pod.split("/")[0]


def assert_reachability(matrix: Matrix, expected: Reachability, port: int, protocol: Protocol = "TCP") -> None:
    __tracebackhide__ = True
    wrong = [
        matrix.verdict(s, d, port, protocol)
        for (s, d), value in expected.cells.items()
        if matrix.allowed(s, d, port, protocol) != value
    ]
    if wrong:
        explained = "\n".join(v.explain() for v in wrong)
        pytest.fail(
            f"{len(wrong)} cells differ on {port}/{protocol}\nexpected:\n{expected.table()}\n"
            f"engine:\n{matrix.table(port, protocol)}\n{explained}"
        )


# --- ported upstream cases -------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_default_deny_ingress_isolates_the_namespace(protocol: Protocol) -> None:
    """Upstream: "should support a 'default-deny-ingress' policy" (TCP; and the UDP and SCTP contexts)."""
    matrix = model_matrix(netpol("deny-ingress", ingress=[]))
    assert_reachability(matrix, Reachability().expect_peer("", "x", value=False), 80, protocol)


def test_default_deny_all_isolates_both_directions() -> None:
    """Upstream: "should support a 'default-deny-all' policy"."""
    matrix = model_matrix(netpol("deny-all", ingress=[], egress=[]))
    expected = Reachability().expect_peer("", "x", value=False).expect_peer("x", "", value=False)
    assert_reachability(matrix, expected, 80)


def test_pod_selector_allows_traffic_from_pods_within_the_server_namespace() -> None:
    """Upstream: "should enforce policy to allow traffic from pods within server namespace based on PodSelector"."""
    matrix = model_matrix(
        netpol("x-a-allows-x-b", {"pod": "a"}, ingress=[{"from": [{"podSelector": labels(pod="b")}]}])
    )
    expected = Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True)
    assert_reachability(matrix, expected, 80)


def test_allow_all_to_a_target_overrides_namespace_default_deny() -> None:
    """Upstream: "should enforce policy to allow ingress traffic for a target"."""
    everyone: Policy = {"podSelector": {}, "namespaceSelector": {}}
    matrix = model_matrix(
        netpol("deny-all", ingress=[]), netpol("allow-all-to-a", {"pod": "a"}, ingress=[{"from": [everyone]}])
    )
    expected = Reachability().expect_all_ingress("x/b", False).expect_all_ingress("x/c", False)
    assert_reachability(matrix, expected, 80)


def test_empty_namespace_selector_allows_pods_in_all_namespaces() -> None:
    """Upstream: "should enforce policy to allow ingress traffic from pods in all namespaces"."""
    rule: Policy = {"from": [{"namespaceSelector": {"matchLabels": {}}}]}
    matrix = model_matrix(netpol("allow-from-another-ns", {"pod": "a"}, ingress=[rule]))
    assert_reachability(matrix, Reachability(), 80)


@pytest.mark.parametrize(
    "selector",
    [
        pytest.param(labels(**{NS_LABEL: "y"}), id="matchLabels"),
        pytest.param(ns_is("y"), id="matchExpressions-In"),
        pytest.param(labels(ns="y"), id="custom-label"),
    ],
)
def test_namespace_selector_allows_traffic_only_from_that_namespace(selector: Policy) -> None:
    """Upstream: "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
    "should enforce policy based on NamespaceSelector with MatchExpressions" and "should enforce policy to allow
    traffic based on NamespaceSelector with MatchLabels using default ns label"."""
    matrix = model_matrix(netpol("allow-ns-y", {"pod": "a"}, ingress=[{"from": [{"namespaceSelector": selector}]}]))
    expected = Reachability().expect_peer("x", "x/a", value=False).expect_peer("z", "x/a", value=False)
    assert_reachability(matrix, expected, 80)


def test_pod_selector_with_match_expressions() -> None:
    """Upstream: "should enforce policy based on PodSelector with MatchExpressions"."""
    peer = {"podSelector": {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b"]}]}}
    matrix = model_matrix(netpol("x-a-allows-x-b", {"pod": "a"}, ingress=[{"from": [peer]}]))
    assert_reachability(matrix, Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True), 80)


def test_separate_peers_are_ored() -> None:
    """Upstream: "should enforce policy based on PodSelector or NamespaceSelector"."""
    peers = [{"namespaceSelector": ns_is("x", op="NotIn")}, {"podSelector": labels(pod="b")}]
    matrix = model_matrix(netpol("allow-ns-y-match-selector", {"pod": "a"}, ingress=[{"from": peers}]))
    expected = Reachability().expect("x/a", "x/a", False).expect("x/c", "x/a", False)
    assert_reachability(matrix, expected, 80)


def test_pod_and_namespace_selector_in_one_peer_are_anded() -> None:
    """Upstream: "should enforce policy based on PodSelector and NamespaceSelector"."""
    peer = {"namespaceSelector": ns_is("x", op="NotIn"), "podSelector": labels(pod="b")}
    matrix = model_matrix(netpol("allow-ns-y-podselector-and-nsselector", {"pod": "a"}, ingress=[{"from": [peer]}]))
    expected = Reachability().expect_all_ingress("x/a", False).expect("y/b", "x/a", True).expect("z/b", "x/a", True)
    assert_reachability(matrix, expected, 80)


def test_multiple_pod_selectors_and_namespace_selectors() -> None:
    """Upstream: "should enforce policy based on Multiple PodSelectors and NamespaceSelectors"."""
    pods = {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b", "c"]}]}
    peer = {"namespaceSelector": ns_is("x", op="NotIn"), "podSelector": pods}
    matrix = model_matrix(netpol("allow-ns-y-z-pod-b-c", {"pod": "a"}, ingress=[{"from": [peer]}]))
    expected = Reachability().expect_peer("x", "x/a", value=False).expect("y/a", "x/a", False)
    assert_reachability(matrix, expected.expect("z/a", "x/a", False), 80)


def test_any_of_several_pod_selectors() -> None:
    """Upstream: "should enforce policy based on any PodSelectors"."""
    peers = [{"podSelector": labels(pod="b")}, {"podSelector": labels(pod="c")}]
    matrix = model_matrix(netpol("allow-ns-x-pod-b-c", {"pod": "a"}, ingress=[{"from": peers}]))
    expected = Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True).expect("x/c", "x/a", True)
    assert_reachability(matrix, expected, 80)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pod_in_a_different_namespace_by_pod_and_namespace_selector(protocol: Protocol) -> None:
    """Upstream: "should enforce policy to allow traffic only from a pod in a different namespace based on
    PodSelector and NamespaceSelector" (TCP, UDP and SCTP contexts)."""
    peer = {"namespaceSelector": labels(**{NS_LABEL: "y"}), "podSelector": labels(pod="a")}
    matrix = model_matrix(netpol("allow-ns-y-pod-a", {"pod": "a"}, ingress=[{"from": [peer]}]))
    expected = Reachability().expect_all_ingress("x/a", False).expect("y/a", "x/a", True)
    assert_reachability(matrix, expected, 80, protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_ports_restrict_an_allowed_namespace_to_one_port(protocol: Protocol) -> None:
    """Upstream: "should enforce policy based on Ports" (TCP, UDP and SCTP contexts)."""
    rule = {"from": [{"namespaceSelector": labels(**{NS_LABEL: "y"})}], "ports": [{"port": 81, "protocol": protocol}]}
    matrix = model_matrix(netpol("allow-port-81", {"pod": "a"}, ingress=[rule]))
    expected = Reachability().expect_peer("x", "x/a", value=False).expect_peer("z", "x/a", value=False)
    assert_reachability(matrix, expected, 81, protocol)
    assert_reachability(matrix, Reachability().expect_all_ingress("x/a", False), 80, protocol)


def test_stacked_policies_with_overlapping_pod_selectors_are_additive() -> None:
    """Upstream: "should enforce multiple, stacked policies with overlapping podSelectors"."""

    def allow_y_on(port: int) -> Policy:
        rule = {
            "from": [{"namespaceSelector": labels(**{NS_LABEL: "y"})}],
            "ports": [{"port": port, "protocol": "TCP"}],
        }
        return netpol(f"allow-{port}", {"pod": "a"}, ingress=[rule])

    allowed = Reachability().expect_peer("x", "x/a", value=False).expect_peer("z", "x/a", value=False)
    matrix = model_matrix(allow_y_on(81))
    assert_reachability(matrix, allowed, 81)
    assert_reachability(matrix, Reachability().expect_all_ingress("x/a", False), 80)
    assert_reachability(model_matrix(allow_y_on(81), allow_y_on(80)), allowed, 80)


def test_allow_all_policy_allows_every_port() -> None:
    """Upstream: "should support allow-all policy"."""
    matrix = model_matrix(netpol("allow-all", {}, ingress=[{}]))
    assert all(v.allowed for v in matrix)


def test_ingress_on_one_named_port() -> None:
    """Upstream: "should allow ingress access on one named port" (also cyclonus' example case)."""
    matrix = model_matrix(netpol("allow-81", {}, ingress=[{"ports": [{"port": "serve-81-tcp"}]}]))
    assert_reachability(matrix, Reachability(), 81)
    assert_reachability(matrix, Reachability().expect_peer("", "x", value=False), 80)
    # The name carries its protocol: serve-81-tcp does not open 81/UDP.
    assert_reachability(matrix, Reachability().expect_peer("", "x", value=False), 81, "UDP")


def test_ingress_from_namespace_on_one_named_port() -> None:
    """Upstream: "should allow ingress access from namespace on one named port"."""
    rule = {"from": [{"namespaceSelector": labels(**{NS_LABEL: "y"})}], "ports": [{"port": "serve-80-tcp"}]}
    matrix = model_matrix(netpol("allow-80", {"pod": "a"}, ingress=[rule]))
    allowed = Reachability().expect_peer("x", "x/a", value=False).expect_peer("z", "x/a", value=False)
    assert_reachability(matrix, allowed, 80)
    assert_reachability(matrix, Reachability().expect_all_ingress("x/a", False), 81)


def test_egress_on_one_named_port_resolves_on_the_destination() -> None:
    """Upstream: "should allow egress access on one named port"."""
    matrix = model_matrix(netpol("allow-egress", {}, egress=[{"ports": [{"port": "serve-80-tcp"}]}]))
    assert_reachability(matrix, Reachability(), 80)
    assert_reachability(matrix, Reachability().expect_peer("x", "", value=False), 81)


def test_named_egress_port_is_denied_to_a_destination_without_that_name() -> None:
    """Cyclonus: a named port is resolved against the destination pod's container ports (ResolvedPortName)."""
    pods = [
        p if p.key != "y/b" else Pod("y", "b", {"pod": "b"}, pod_ip("y", "b"), (ContainerPort(80),))
        for p in model_pods()
    ]
    policy = netpol("allow-egress", {}, egress=[{"ports": [{"port": "serve-80-tcp"}]}])
    matrix = expected_matrix(model_namespaces(), pods, [policy], [PortProtocol(80)])
    assert matrix.allowed("x/a", "y/a", 80)
    assert not matrix.allowed("x/a", "y/b", 80)


def test_updated_policy_is_enforced() -> None:
    """Upstream: "should enforce updated policy" (allow-all mutated into deny-all)."""
    policy = netpol("allow-all-mutate-to-deny-all", {}, ingress=[{}])
    assert_reachability(model_matrix(policy), Reachability(), 81)
    policy["spec"]["ingress"] = []
    assert_reachability(model_matrix(policy), Reachability().expect_peer("", "x", value=False), 81)


def test_ingress_from_updated_namespace() -> None:
    """Upstream: "should allow ingress access from updated namespace"."""
    policy = netpol("allow-ns2", {"pod": "a"}, ingress=[{"from": [{"namespaceSelector": labels(ns2="updated")}]}])
    assert_reachability(model_matrix(policy), Reachability().expect_all_ingress("x/a", False), 80)
    expected = Reachability().expect_all_ingress("x/a", False).expect_peer("y", "", value=True)
    assert_reachability(model_matrix(policy, namespace_labels={"y": {"ns2": "updated"}}), expected, 80)


def test_ingress_from_updated_pod() -> None:
    """Upstream: "should allow ingress access from updated pod"."""
    policy = netpol("allow-pod2", {"pod": "a"}, ingress=[{"from": [{"podSelector": labels(pod="b", pod2="updated")}]}])
    assert_reachability(model_matrix(policy), Reachability().expect_all_ingress("x/a", False), 80)
    expected = Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True)
    assert_reachability(model_matrix(policy, pod_labels={"x/b": {"pod2": "updated"}}), expected, 80)


def test_empty_pod_selector_peer_denies_ingress_from_other_namespaces() -> None:
    """Upstream: "should deny ingress from pods on other namespaces"."""
    matrix = model_matrix(netpol("deny-empty-policy", {}, ingress=[{"from": [{"podSelector": {"matchLabels": {}}}]}]))
    expected = Reachability().expect_peer("y", "x", value=False).expect_peer("z", "x", value=False)
    assert_reachability(matrix, expected, 80)


def test_ingress_denied_to_updated_pod() -> None:
    """Upstream: "should deny ingress access to updated pod"."""
    policy = netpol("deny-ingress-via-label-selector", {"target": "isolated"}, ingress=[])
    assert_reachability(model_matrix(policy), Reachability(), 80)
    isolated = model_matrix(policy, pod_labels={"x/a": {"target": "isolated"}})
    assert_reachability(isolated, Reachability().expect_all_ingress("x/a", False), 80)


def test_egress_denied_from_pods_by_pod_selector() -> None:
    """Upstream: "should deny egress from pods based on PodSelector"."""
    matrix = model_matrix(netpol("deny-egress-pod-a", {"pod": "a"}, egress=[]))
    assert_reachability(matrix, Reachability().expect_all_egress("x/a", False), 80)


def test_egress_denied_from_all_pods_in_a_namespace() -> None:
    """Upstream: "should deny egress from all pods in a namespace"."""
    matrix = model_matrix(netpol("deny-egress-ns-x", {}, egress=[]))
    assert_reachability(matrix, Reachability().expect_peer("x", "", value=False), 80)


def test_ingress_and_egress_specified_together() -> None:
    """Upstream: "should work with Ingress, Egress specified together"."""
    policy = netpol(
        "allow-client-a-via-pod-selector",
        {"pod": "a"},
        ingress=[{"from": [{"podSelector": labels(pod="b")}]}],
        egress=[{"ports": [{"port": 80}]}],
        types=["Egress", "Ingress"],
    )
    matrix = model_matrix(policy)
    assert_reachability(matrix, Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True), 80)
    expected = Reachability().expect_all_ingress("x/a", False).expect_all_egress("x/a", False)
    assert_reachability(matrix, expected.expect("x/b", "x/a", True), 81)


def test_client_side_egress_denial_wins_over_server_allow() -> None:
    """Upstream: "should support denying of egress traffic on the client side (even if the server explicitly
    allows this traffic)"."""
    x_a = {"namespaceSelector": labels(**{NS_LABEL: "x"}), "podSelector": labels(pod="a")}
    y_a = {"namespaceSelector": labels(**{NS_LABEL: "y"}), "podSelector": labels(pod="a")}
    matrix = model_matrix(
        netpol("allow-to-ns-y-pod-a", {"pod": "a"}, egress=[{"to": [y_a]}]),
        netpol("allow-from-xa-on-ya", {"pod": "a"}, namespace="y", ingress=[{"from": [x_a]}]),
        netpol("allow-from-xa-on-yb", {"pod": "b"}, namespace="y", ingress=[{"from": [x_a]}]),
    )
    expected = Reachability().expect_peer("x/a", "", value=False).expect_peer("", "y/a", value=False)
    expected.expect("x/a", "y/a", True).expect_peer("", "y/b", value=False)
    assert_reachability(matrix, expected, 80)
    denied = matrix.verdict("x/a", "y/b", 80)
    assert denied.ingress.allowed
    assert not denied.egress.allowed


def test_egress_to_a_server_in_another_namespace_by_pod_and_namespace_selector() -> None:
    """Upstream: "should enforce egress policy allowing traffic to a server in a different namespace based on
    PodSelector and NamespaceSelector"."""
    peer = {"namespaceSelector": labels(**{NS_LABEL: "y"}), "podSelector": labels(pod="a")}
    matrix = model_matrix(netpol("allow-to-ns-y-pod-a", {"pod": "a"}, egress=[{"to": [peer]}]))
    assert_reachability(matrix, Reachability().expect_all_egress("x/a", False).expect("x/a", "y/a", True), 80)


def test_ingress_any_port_on_a_specific_protocol() -> None:
    """Upstream: "should enforce ingress policy allowing any port traffic to a server on a specific protocol"."""
    matrix = model_matrix(netpol("allow-ingress-by-proto", {"pod": "a"}, ingress=[{"ports": [{"protocol": "TCP"}]}]))
    for port in (80, 81):
        assert_reachability(matrix, Reachability(), port, "TCP")
        assert_reachability(matrix, Reachability().expect_all_ingress("x/a", False), port, "UDP")


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_allow_all_policy_takes_precedence_over_a_port_restriction(direction: str) -> None:
    """Upstream: "should enforce multiple ingress policies with ingress allow-all policy taking precedence" and
    "should enforce multiple egress policies with egress allow-all policy taking precedence"."""

    def policy(name: str, rules: list[Policy]) -> Policy:
        return netpol(name, {}, ingress=rules) if direction == "ingress" else netpol(name, {}, egress=rules)

    only_80 = policy("allow-port-80", [{"ports": [{"port": 80}]}])
    allow_all = policy("allow-all", [{}])
    blocked = ("", "x") if direction == "ingress" else ("x", "")
    assert_reachability(model_matrix(only_80), Reachability().expect_peer(*blocked, value=False), 81)
    assert_reachability(model_matrix(only_80, allow_all), Reachability(), 81)


def test_deleted_policies_stop_being_enforced() -> None:
    """Upstream: "should stop enforcing policies after they are deleted"."""
    expected = Reachability().expect_peer("x", "", value=False).expect_peer("", "x", value=False)
    assert_reachability(model_matrix(netpol("deny-all", ingress=[], egress=[])), expected, 80)
    assert_reachability(model_matrix(), Reachability(), 80)


def test_egress_to_server_in_cidr_block() -> None:
    """Upstream: "should allow egress access to server in CIDR block"."""
    rule = {"to": [{"ipBlock": {"cidr": f"{pod_ip('y', 'b')}/32"}}]}
    matrix = model_matrix(netpol("allow-client-a-via-cidr-egress-rule", {"pod": "a"}, egress=[rule]))
    assert_reachability(matrix, Reachability().expect_all_egress("x/a", False).expect("x/a", "y/b", True), 80)


def test_except_clause_of_cidr_block() -> None:
    """Upstream: "should enforce except clause while egress access to server in CIDR block" (the /4 around x/b,
    as makeLargeCIDRForIP builds it, except x/b itself)."""
    block = {"cidr": "192.0.0.0/4", "except": [f"{pod_ip('x', 'b')}/32"]}
    matrix = model_matrix(
        netpol("allow-client-a-via-cidr-egress-rule", {"pod": "a"}, egress=[{"to": [{"ipBlock": block}]}])
    )
    assert_reachability(matrix, Reachability().expect("x/a", "x/b", False), 80)


def test_ip_in_both_cidr_and_except_is_allowed_by_another_policy() -> None:
    """Upstream: "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed"."""
    block = {"cidr": "192.0.0.0/4", "except": [f"{pod_ip('x', 'b')}/32"]}
    excepting = netpol("allow-client-a-via-cidr-egress-rule", {"pod": "a"}, egress=[{"to": [{"ipBlock": block}]}])
    only_b = netpol(
        "allow-client-a-to-b", {"pod": "a"}, egress=[{"to": [{"ipBlock": {"cidr": f"{pod_ip('x', 'b')}/32"}}]}]
    )
    assert_reachability(model_matrix(excepting, only_b), Reachability(), 80)
    # Upstream's second step *replaces* the first policy (same name, UpdatePolicy): only x/b is left.
    assert_reachability(
        model_matrix(only_b), Reachability().expect_all_egress("x/a", False).expect("x/a", "x/b", True), 80
    )


def test_ingress_and_egress_are_controlled_independently() -> None:
    """Upstream: "should enforce policies to check ingress and egress policies can be controlled independently
    based on PodSelector"."""
    allow_egress = netpol("allow-egress-for-target", {"pod": "a"}, egress=[{}])
    assert_reachability(model_matrix(allow_egress), Reachability(), 80)
    deny_ingress = netpol("deny-ingress-via-label-selector", {"pod": "a"}, ingress=[])
    assert_reachability(model_matrix(allow_egress, deny_ingress), Reachability().expect_all_ingress("x/a", False), 80)


def test_sctp_rule_is_not_mistaken_for_tcp() -> None:
    """Upstream: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't
    support SCTP"."""
    sctp_only = netpol("allow-only-sctp-81", {"pod": "a"}, ingress=[{"ports": [{"port": 81, "protocol": "SCTP"}]}])
    matrix = model_matrix(netpol("deny-ingress", ingress=[]), sctp_only)
    assert_reachability(matrix, Reachability().expect_peer("", "x", value=False), 81, "TCP")
    assert_reachability(
        matrix, Reachability().expect_peer("", "x", value=False).expect_peer("", "x/a", value=True), 81, "SCTP"
    )


def test_policy_allowing_only_sctp_still_isolates_for_tcp() -> None:
    """Upstream: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin
    doesn't support SCTP"."""
    matrix = model_matrix(
        netpol("allow-only-sctp-80", {"pod": "a"}, ingress=[{"ports": [{"port": 80, "protocol": "SCTP"}]}])
    )
    assert_reachability(matrix, Reachability().expect_all_ingress("x/a", False), 81, "TCP")


def test_policy_allowing_only_udp_denies_tcp() -> None:
    """Upstream: "should not allow access by TCP when a policy specifies only UDP"."""
    matrix = model_matrix(
        netpol("allow-only-udp-81", {"pod": "a"}, ingress=[{"ports": [{"port": 81, "protocol": "UDP"}]}])
    )
    assert_reachability(matrix, Reachability().expect_all_ingress("x/a", False), 81, "TCP")
    assert_reachability(matrix, Reachability(), 81, "UDP")


def test_egress_namespace_selector_not_in_with_default_ns_label() -> None:
    """Upstream: "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label"."""
    matrix = model_matrix(
        netpol("allow-not-y", {"pod": "a"}, egress=[{"to": [{"namespaceSelector": ns_is("y", op="NotIn")}]}])
    )
    assert_reachability(matrix, Reachability().expect_peer("x/a", "y", value=False), 80)


# --- endPort and the remaining API semantics (cyclonus) -------------------------------------------


@pytest.mark.parametrize(
    ("port", "end_port", "allowed"),
    [(80, 81, {80, 81}), (79, 80, {80}), (81, 90, {81}), (81, 81, {81}), (82, 90, set())],
)
def test_end_port_is_an_inclusive_range(port: int, end_port: int, allowed: set[int]) -> None:
    """Cyclonus' PortRangeMatcher (From <= port <= To, same protocol); the endPort field of NetworkPolicyPort."""
    rule = {"from": [{"namespaceSelector": {}}], "ports": [{"port": port, "endPort": end_port, "protocol": "TCP"}]}
    matrix = model_matrix(netpol("range", {"pod": "a"}, ingress=[rule]))
    for probe in (80, 81):
        expected = Reachability() if probe in allowed else Reachability().expect_all_ingress("x/a", False)
        assert_reachability(matrix, expected, probe, "TCP")
    assert_reachability(matrix, Reachability().expect_all_ingress("x/a", False), 80, "UDP")


def test_end_port_applies_to_egress() -> None:
    """Cyclonus' port range cases in the egress direction."""
    matrix = model_matrix(netpol("range", {}, egress=[{"ports": [{"port": 81, "endPort": 443, "protocol": "UDP"}]}]))
    assert_reachability(matrix, Reachability(), 81, "UDP")
    assert_reachability(matrix, Reachability().expect_peer("x", "", value=False), 80, "UDP")
    assert_reachability(matrix, Reachability().expect_peer("x", "", value=False), 81, "TCP")


def test_policy_types_default_to_ingress_plus_egress_when_egress_rules_exist() -> None:
    """The apiserver's defaulting, which cyclonus' builder relies on: an ingress-only spec, even with ``egress: []``,
    does not isolate egress; egress rules add the Egress type."""
    no_types: Policy = {"metadata": {"name": "p", "namespace": "x"}, "spec": {"podSelector": {}, "egress": []}}
    assert NetworkPolicy.from_dict(no_types).policy_types == {"ingress"}
    matrix = model_matrix(no_types)
    assert_reachability(matrix, Reachability().expect_peer("", "x", value=False), 80)
    with_egress = copy.deepcopy(no_types)
    with_egress["spec"]["egress"] = [{"ports": [{"port": 80}]}]
    assert NetworkPolicy.from_dict(with_egress).policy_types == {"ingress", "egress"}
    assert_reachability(
        model_matrix(with_egress),
        Reachability().expect_peer("x", "", value=False).expect_peer("", "x", value=False),
        81,
    )


def test_rules_of_a_direction_not_in_policy_types_are_ignored() -> None:
    """policyTypes: [Egress] with ingress rules: the policy neither isolates nor allows ingress."""
    matrix = model_matrix(
        netpol(
            "egress-only",
            {"pod": "a"},
            ingress=[{"from": [{"podSelector": labels(pod="b")}]}],
            egress=[{}],
            types=["Egress"],
        )
    )
    assert all(v.allowed for v in matrix)


def test_empty_from_list_and_empty_ports_match_everything() -> None:
    """A rule whose from/ports are [] matches every peer and port, exactly like one that omits them."""
    matrix = model_matrix(netpol("p", {"pod": "a"}, ingress=[{"from": [], "ports": []}]))
    assert all(v.allowed for v in matrix)


@pytest.mark.parametrize(
    ("expression", "matching"),
    [
        ({"key": "team", "operator": "Exists"}, {"y"}),
        ({"key": "team", "operator": "DoesNotExist"}, {"x", "z"}),
        ({"key": "team", "operator": "NotIn", "values": ["blue"]}, {"x", "z"}),  # an absent key is "not in"
        ({"key": "team", "operator": "In", "values": ["blue", "red"]}, {"y"}),
    ],
)
def test_match_expression_operators(expression: Policy, matching: set[str]) -> None:
    """metav1.LabelSelectorRequirement semantics as cyclonus' LabelSelector matcher applies them."""
    policy = netpol("p", {"pod": "a"}, ingress=[{"from": [{"namespaceSelector": {"matchExpressions": [expression]}}]}])
    matrix = model_matrix(policy, namespace_labels={"y": {"team": "blue"}})
    assert {v.src.split("/")[0] for v in matrix if v.dst == "x/a" and v.allowed} == matching


def test_ip_block_of_another_ip_version_never_matches() -> None:
    matrix = model_matrix(netpol("v6", {"pod": "a"}, egress=[{"to": [{"ipBlock": {"cidr": "::/0"}}]}]))
    assert not any(v.allowed for v in matrix if v.src == "x/a")


def test_pod_without_an_ip_matches_no_ip_block() -> None:
    pods = [*model_pods()[:-1], Pod("z", "c", {"pod": "c"}, None, ())]
    policy = netpol("any-ip", {"pod": "a"}, egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}])
    matrix = expected_matrix(model_namespaces(), pods, [policy], [PortProtocol(80)])
    assert matrix.allowed("x/a", "z/b", 80)
    assert not matrix.allowed("x/a", "z/c", 80)


# --- explanations ----------------------------------------------------------------------------------


def test_verdict_names_the_rule_peer_and_port_that_allowed_it() -> None:
    rule = {
        "from": [{"podSelector": labels(pod="c")}, {"namespaceSelector": ns_is("y")}],
        "ports": [{"port": 81}, {"port": 80}],
    }
    matrix = model_matrix(netpol("deny", ingress=[]), netpol("allow-y", {"pod": "a"}, ingress=[{}, rule]))
    verdict = matrix.verdict("y/b", "x/a", 80)
    assert verdict.allowed
    assert [str(m) for m in verdict.ingress.matches] == [
        "x/allow-y ingress[0]",
        "x/allow-y ingress[1] from[1] ports[1]",
    ]
    assert verdict.ingress.isolating == ("x/deny", "x/allow-y")
    assert "egress from y/b: open" in verdict.explain()
    assert verdict.as_evidence()["ingress"]["allowed_by"] == [
        "x/allow-y ingress[0]",
        "x/allow-y ingress[1] from[1] ports[1]",
    ]


def test_denied_verdict_names_the_isolating_policies() -> None:
    matrix = model_matrix(netpol("deny-egress", {"pod": "a"}, namespace="y", egress=[]))
    verdict = matrix.verdict("y/a", "z/c", 81, "UDP")
    assert not verdict.allowed
    assert verdict.explain() == (
        "y/a -> z/c 81/UDP: denied; egress from y/a: denied (isolated by y/deny-egress; no rule allows it); "
        "ingress to z/c: open (no policy selects it for ingress)"
    )


def test_table_uses_the_upstream_layout() -> None:
    table = model_matrix(netpol("deny-ingress", ingress=[])).table(80)
    lines = table.splitlines()
    assert lines[0] == "80/TCP"
    assert lines[1].split("\t") == ["-", "x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"]
    assert lines[2] == "x/a\tX\tX\tX\t.\t.\t.\t.\t.\t."


# --- input: the kubernetes client's shape, and mistakes -------------------------------------------


def test_objects_from_the_kubernetes_client_are_understood() -> None:
    """What ``ApiClient().sanitize_for_serialization`` makes of V1 objects is the engine's input shape."""
    api: Any = ApiClient()  # the generated client is untyped
    namespace = V1Namespace(metadata=V1ObjectMeta(name="y", labels={"team": "blue"}))
    container = V1Container(name="s", ports=[V1ContainerPort(container_port=8080, name="http", protocol="TCP")])
    pods = [
        V1Pod(
            metadata=V1ObjectMeta(name="a", namespace=ns, labels={"app": "web"}),
            spec=V1PodSpec(containers=[container]),
            status=V1PodStatus(pod_ip=ip),
        )
        for ns, ip in (("x", "10.0.0.1"), ("y", "10.0.0.2"))
    ]
    policy = V1NetworkPolicy(
        metadata=V1ObjectMeta(name="allow-team-blue", namespace="x"),
        spec=V1NetworkPolicySpec(
            pod_selector=V1LabelSelector(match_labels={"app": "web"}),
            policy_types=["Ingress", "Egress"],
            ingress=[
                V1NetworkPolicyIngressRule(
                    _from=[
                        V1NetworkPolicyPeer(
                            namespace_selector=V1LabelSelector(
                                match_expressions=[
                                    V1LabelSelectorRequirement(key="team", operator="In", values=["blue"])
                                ]
                            )
                        )
                    ],
                    ports=[V1NetworkPolicyPort(port="http")],
                )
            ],
            egress=[V1NetworkPolicyEgressRule(ports=[V1NetworkPolicyPort(port=8000, end_port=9000, protocol="TCP")])],
        ),
    )
    namespaces = [api.sanitize_for_serialization(namespace), {"metadata": {"name": "x"}}]
    matrix = expected_matrix(namespaces, [api.sanitize_for_serialization(p) for p in pods],
                             [api.sanitize_for_serialization(policy)], [(8080, "TCP"), (80, "TCP")])  # fmt: skip
    assert matrix.allowed("y/a", "x/a", 8080)
    assert not matrix.allowed("y/a", "x/a", 80)
    assert not matrix.allowed("x/a", "x/a", 8080)  # x is not team blue
    assert matrix.allowed("x/a", "y/a", 8080)  # egress 8000-9000


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"podselector": {}}, "spec: unknown key 'podselector'. Did you mean 'podSelector'?"),
        ({"policyTypes": ["ingress"]}, "spec.policyTypes: 'ingress' is not Ingress or Egress"),
        (
            {"ingress": [{"from": [{}]}]},
            "spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock",
        ),
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]},
            "spec.ingress[0].from[0]: ipBlock cannot be combined with podSelector or namespaceSelector",
        ),
        (
            {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0/8"}}]}]},
            "spec.egress[0].to[0].ipBlock.cidr: '10.0.0/8' is not a CIDR",
        ),
        (
            {"egress": [{"ports": [{"port": 90, "endPort": 80}]}]},
            "spec.egress[0].ports[0].endPort: 80 is less than port 90",
        ),
        ({"egress": [{"ports": [{"port": "http", "endPort": 80}]}]}, "endPort: not allowed with the named port 'http'"),
        ({"egress": [{"ports": [{"endPort": 80}]}]}, "spec.egress[0].ports[0].endPort: needs a numeric port"),
        ({"egress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]}, "protocol: 'ICMP' is not one of TCP, UDP, SCTP"),
        ({"egress": [{"ports": [{"port": 70000}]}]}, "ports[0].port: 70000 is not a port number (1-65535)"),
        (
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
            "spec.podSelector.matchExpressions[0]: operator In needs at least one value",
        ),
        (
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["b"]}]}},
            "operator Exists takes no values",
        ),
        (
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "in", "values": ["b"]}]}},
            "'in' is not one of In",
        ),
        ({"ingress": [{"form": []}]}, "spec.ingress[0]: unknown key 'form'. Did you mean 'from'?"),
    ],
)
def test_malformed_policy_is_refused_naming_the_key(spec: Policy, message: str) -> None:
    with pytest.raises(ProfileError, match=r"^NetworkPolicy x/p: ") as raised:
        NetworkPolicy.from_dict({"metadata": {"name": "p", "namespace": "x"}, "spec": spec})
    assert message in str(raised.value)


def test_manifest_without_namespace_takes_the_given_one() -> None:
    manifest = {"metadata": {"name": "p"}, "spec": {}}
    with pytest.raises(ProfileError, match=r"metadata\.namespace is missing; pass namespace="):
        NetworkPolicy.from_dict(manifest)
    assert NetworkPolicy.from_dict(manifest, namespace="tenant-a").key == "tenant-a/p"


def test_pod_in_an_unknown_namespace_or_twice_is_refused() -> None:
    with pytest.raises(ProfileError, match=r"pod w/a: namespace 'w' is not among the namespaces given \(x, y, z\)"):
        PolicyEngine(model_namespaces(), [Pod("w", "a")], [])
    with pytest.raises(ProfileError, match="pod x/a is given twice"):
        PolicyEngine(model_namespaces(), [Pod("x", "a"), Pod("x", "a")], [])
    with pytest.raises(ProfileError, match="Did you mean 'x/a'"):
        PolicyEngine(model_namespaces(), model_pods(), []).evaluate("x/aa", "x/b", 80)


# --- the tenant template and issue 9's seeded network faults ---------------------------------------

TENANTS = ("tenant-a", "tenant-b", "tenant-c")
TENANT_PORTS = [PortProtocol(80), PortProtocol(81), PortProtocol(80, "UDP"), PortProtocol(53, "UDP"),
                PortProtocol(53), PortProtocol(9153)]  # fmt: skip
EVERY_PORT = {str(p) for p in TENANT_PORTS}
WORKLOAD_PORTS = tuple(
    ContainerPort(p, proto, f"serve-{p}-{proto.lower()}") for p in (80, 81) for proto in ("TCP", "UDP")
)


def cluster() -> tuple[list[Namespace], list[Pod]]:
    """Tenant namespaces with two workloads each; kube-dns; an ingress controller; and ``shared``, a namespace
    with no policies (a shared service), which sees each direction of a tenant's policies on its own."""
    namespaces = [Namespace(t, {"tenantprobe.io/tenant": t.removeprefix("tenant-")}) for t in TENANTS]
    namespaces += [
        Namespace("kube-system"),
        Namespace("ingress", {"tenantprobe.io/role": "ingress"}),
        Namespace("shared"),
    ]
    dns_ports = (
        ContainerPort(53, "UDP", "dns"),
        ContainerPort(53, "TCP", "dns-tcp"),
        ContainerPort(9153, "TCP", "metrics"),
    )
    pods = [
        Pod(t, w, {"app": w}, f"10.{i}.0.{j}", WORKLOAD_PORTS)
        for i, t in enumerate(TENANTS, start=1)
        for j, w in enumerate(("web", "worker"), start=1)
    ]
    pods += [
        Pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, "10.96.0.10", dns_ports),
        Pod("ingress", "controller", {"app.kubernetes.io/name": "ingress-nginx"}, "10.97.0.2", WORKLOAD_PORTS),
        Pod("shared", "service", {"app": "shared"}, "10.98.0.2", WORKLOAD_PORTS),
    ]
    return namespaces, pods


def tenant_template(namespace: str) -> list[Policy]:
    """The tenant template's NetworkPolicies (issue 8): default deny both ways, allow within the namespace, DNS
    egress to kube-dns in kube-system, ingress from the ingress controller's namespace."""
    dns_peer = {
        "namespaceSelector": labels(**{NS_LABEL: "kube-system"}),
        "podSelector": labels(**{"k8s-app": "kube-dns"}),
    }
    return [
        netpol("default-deny", namespace=namespace, ingress=[], egress=[]),
        netpol("allow-same-namespace", namespace=namespace, ingress=[{"from": [{"podSelector": {}}]}],
               egress=[{"to": [{"podSelector": {}}]}]),
        netpol("allow-dns", namespace=namespace, egress=[{"to": [dns_peer], "ports": [{"protocol": "UDP", "port": 53},
                                                                                  {"protocol": "TCP", "port": 53}]}]),
        netpol("allow-from-ingress", namespace=namespace,
               ingress=[{"from": [{"namespaceSelector": labels(**{"tenantprobe.io/role": "ingress"})}]}]),
    ]  # fmt: skip


def tenant_matrix(template: Any = tenant_template) -> Matrix:
    namespaces, pods = cluster()
    return expected_matrix(namespaces, pods, [p for t in TENANTS for p in template(t)], TENANT_PORTS)


def cross_tenant(matrix: Matrix) -> set[tuple[str, str, str]]:
    return {
        (v.src, v.dst, f"{v.port}/{v.protocol}")
        for v in matrix.cross_namespace_allowed()
        if v.src.split("/")[0] in TENANTS and v.dst.split("/")[0] in TENANTS
    }


def reachable(matrix: Matrix, src: str, dst: str) -> set[str]:
    return {f"{v.port}/{v.protocol}" for v in matrix if v.src == src and v.dst == dst and v.allowed}


def test_secure_template_keeps_tenants_apart_and_allows_what_a_tenant_needs() -> None:
    matrix = tenant_matrix()
    assert cross_tenant(matrix) == set()
    assert reachable(matrix, "tenant-a/web", "tenant-a/worker") == EVERY_PORT
    assert reachable(matrix, "tenant-a/web", "kube-system/coredns") == {"53/UDP", "53/TCP"}
    assert reachable(matrix, "ingress/controller", "tenant-b/web") == EVERY_PORT
    for outsider in ("shared/service", "kube-system/coredns"):
        assert reachable(matrix, outsider, "tenant-a/web") == set()
    for destination in ("shared/service", "ingress/controller"):
        assert reachable(matrix, "tenant-a/web", destination) == set()
    dns = matrix.verdict("tenant-a/web", "kube-system/coredns", 53, "UDP")
    assert dns.egress.explain() == "egress from tenant-a/web: allowed by tenant-a/allow-dns egress[0] to[0] ports[0]"
    denied = matrix.verdict("tenant-a/web", "tenant-b/web", 80)
    assert "isolated by tenant-a/default-deny, tenant-a/allow-same-namespace, tenant-a/allow-dns" in denied.explain()


def without(name: str) -> Any:
    return lambda ns: [p for p in tenant_template(ns) if p["metadata"]["name"] != name]


def test_fault_no_default_deny_is_masked_by_the_namespace_wide_allows() -> None:
    """Issue 9's fault "no default-deny", taken literally, changes no reachability at all: allow-same-namespace,
    allow-dns and allow-from-ingress select every pod and so isolate it just as the default-deny did. No probe can
    see it; a static check can (``denies_by_default``)."""
    faulty = tenant_matrix(without("default-deny"))
    secure = tenant_matrix()
    assert [v.allowed for v in faulty] == [v.allowed for v in secure]
    assert cross_tenant(faulty) == set()
    policies = [NetworkPolicy.from_dict(p) for p in without("default-deny")("tenant-a")]
    assert not any(p.denies_by_default(d) for p in policies for d in ("ingress", "egress"))
    template = [NetworkPolicy.from_dict(p) for p in tenant_template("tenant-a")]
    assert [p.key for p in template if p.denies_by_default("ingress") and p.denies_by_default("egress")] == [
        "tenant-a/default-deny"
    ]


def test_fault_no_network_policies_opens_every_tenant_to_every_other() -> None:
    """The detectable form of "no default-deny": the namespace has nothing that isolates its pods (the template
    applied without its NetworkPolicies), so every tenant reaches every other on every port."""
    matrix = tenant_matrix(lambda ns: [])
    pairs = {(s, d) for s, d, _ in cross_tenant(matrix)}
    assert ("tenant-a/web", "tenant-b/worker") in pairs
    assert len(pairs) == 6 * 4  # every tenant pod to every pod of the other two tenants
    assert (
        matrix.verdict("tenant-a/web", "tenant-b/worker", 81).explain().endswith("(no policy selects it for ingress)")
    )


def test_fault_over_broad_namespace_selector_in_same_namespace_allow_joins_all_tenants() -> None:
    """Issue 9's fault "an over-broad namespaceSelector ({})": "allow within the namespace" written with
    ``namespaceSelector: {}`` (all namespaces) in from and to. Every tenant reaches every other."""

    def template(ns: str) -> list[Policy]:
        policies = tenant_template(ns)
        spec = policies[1]["spec"]
        spec["ingress"][0]["from"] = spec["egress"][0]["to"] = [{"namespaceSelector": {}}]
        return policies

    matrix = tenant_matrix(template)
    assert {(s, d) for s, d, _ in cross_tenant(matrix)} >= {
        ("tenant-a/web", "tenant-b/web"),
        ("tenant-c/worker", "tenant-a/web"),
    }
    verdict = matrix.verdict("tenant-a/web", "tenant-b/web", 80)
    assert [str(m) for m in verdict.egress.matches] == ["tenant-a/allow-same-namespace egress[0] to[0]"]
    assert [str(m) for m in verdict.ingress.matches] == ["tenant-b/allow-same-namespace ingress[0] from[0]"]


def test_fault_over_broad_namespace_selector_on_ingress_only_is_seen_from_an_unpoliced_namespace() -> None:
    """The same fault on the ingress-controller allow only (``namespaceSelector: {}`` where the role label should
    be): tenant-to-tenant stays blocked by the source tenant's egress isolation, so the fault is visible only from
    pods whose egress is open, such as the shared namespace or kube-system."""

    def template(ns: str) -> list[Policy]:
        policies = tenant_template(ns)
        policies[3]["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {}}]
        return policies

    matrix = tenant_matrix(template)
    assert cross_tenant(matrix) == set()
    assert reachable(matrix, "shared/service", "tenant-a/web") == EVERY_PORT
    assert reachable(matrix, "kube-system/coredns", "tenant-b/worker") == EVERY_PORT


def test_fault_egress_left_open_reaches_everything_outside_the_tenants() -> None:
    """Issue 9's fault "egress left open": the template written for ingress only (default-deny without Egress, no
    egress allows). Tenant-to-tenant stays blocked by the destination's ingress isolation; what the fault exposes
    is every destination without it: kube-system beyond DNS, the ingress controller, shared services."""

    def template(ns: str) -> list[Policy]:
        policies = [p for p in tenant_template(ns) if p["metadata"]["name"] != "allow-dns"]
        for policy in policies:
            policy["spec"]["policyTypes"] = ["Ingress"]
            policy["spec"].pop("egress", None)
        return policies

    matrix = tenant_matrix(template)
    assert cross_tenant(matrix) == set()
    assert reachable(matrix, "tenant-a/web", "kube-system/coredns") == EVERY_PORT
    assert reachable(matrix, "tenant-a/web", "shared/service") == EVERY_PORT
    assert reachable(matrix, "tenant-b/worker", "ingress/controller") == EVERY_PORT
    verdict = matrix.verdict("tenant-a/web", "kube-system/coredns", 9153)
    assert verdict.egress.explain() == "egress from tenant-a/web: open (no policy selects it for egress)"


def test_fault_policies_on_the_wrong_pod_selector_leave_the_tenant_open() -> None:
    """Issue 9's fault "a policy on the wrong pod selector": the template's policies select ``app: tenant-app``
    while the workloads are labelled ``app: web``/``worker``, so no policy selects them and tenants are open."""

    def template(ns: str) -> list[Policy]:
        policies = tenant_template(ns)
        for policy in policies:
            policy["spec"]["podSelector"] = labels(app="tenant-app")
        return policies

    matrix = tenant_matrix(template)
    assert {(s, d) for s, d, _ in cross_tenant(matrix)} >= {
        ("tenant-a/web", "tenant-b/web"),
        ("tenant-b/worker", "tenant-c/web"),
    }
    assert matrix.verdict("tenant-a/web", "tenant-b/web", 80).egress.isolating == ()


def test_fault_wrong_pod_selector_on_default_deny_alone_is_masked() -> None:
    """Only the default-deny on the wrong selector: the namespace-wide allows still isolate every pod."""

    def template(ns: str) -> list[Policy]:
        policies = tenant_template(ns)
        policies[0]["spec"]["podSelector"] = labels(app="tenant-app")
        return policies

    assert cross_tenant(tenant_matrix(template)) == set()
