"""Expected reachability under Kubernetes NetworkPolicies, and which rule decides it.

Pure logic. Give it Namespaces, Pods and NetworkPolicies (policies as plain dicts in the API's
JSON shape: a YAML manifest, or ``ApiClient().sanitize_for_serialization(obj)``) and it says, for
every source pod, destination pod and port/protocol, whether the traffic is allowed, with the
policies and rules that decided it. The semantics are those of ``networking.k8s.io/v1`` as the
upstream e2e suite (``test/e2e/network/netpol``) and cyclonus check them:

- A pod is *isolated* for ingress (egress) when a policy in its namespace selects it and lists
  ``Ingress`` (``Egress``) in ``policyTypes``. A pod that no such policy selects is open in that
  direction. Without ``policyTypes``, a policy has ``Ingress``, plus ``Egress`` if it has egress rules.
- Policies only allow. An isolated pod accepts the traffic that any rule of any selecting policy allows.
- Traffic from X to Y is allowed iff egress is allowed at X and ingress is allowed at Y.
- A rule with no ``from``/``to`` matches every peer, and a rule with no ``ports`` matches every port.
  Peers are ORed. Within one peer, ``podSelector`` and ``namespaceSelector`` are ANDed. A
  ``podSelector`` alone means pods in the policy's own namespace. An empty selector matches everything.
- ``ipBlock`` peers match a pod by its IP (``cidr`` minus ``except``), as upstream e2e and cyclonus do.
- A named port matches a container port of the *destination* pod with that name and protocol,
  in both directions. ``endPort`` makes an inclusive numeric range. The protocol defaults to TCP.
- A pod talking to itself is judged like any other pair. Upstream e2e leaves those cells out of its
  comparison because CNIs differ on them; a prober comparing observations should do the same.

Example::

    matrix = expected_matrix(namespaces, pods, policies, [PortProtocol(80, "TCP")])
    verdict = matrix.verdict("x/a", "y/b", 80)
    verdict.allowed, verdict.explain()
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, cast

from tenantprobe.errors import ProfileError

Protocol = Literal["TCP", "UDP", "SCTP"]
Direction = Literal["ingress", "egress"]
PROTOCOLS: tuple[Protocol, ...] = ("TCP", "UDP", "SCTP")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class PortProtocol(NamedTuple):
    port: int
    protocol: Protocol = "TCP"

    def __str__(self) -> str:
        return f"{self.port}/{self.protocol}"


# --- the objects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def selector_labels(self) -> dict[str, str]:
        # The apiserver always sets this label to the namespace's name, and a user cannot change it.
        return {**self.labels, NAMESPACE_NAME_LABEL: self.name}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Namespace:
        meta = _mapping(obj.get("metadata"), "Namespace.metadata")
        return cls(_string(meta.get("name"), "Namespace.metadata.name"), dict(meta.get("labels") or {}))


@dataclass(frozen=True)
class ContainerPort:
    port: int
    protocol: Protocol = "TCP"
    name: str | None = None


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None
    ports: tuple[ContainerPort, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def port_names(self, port: int, protocol: Protocol) -> frozenset[str]:
        return frozenset(p.name for p in self.ports if p.name and p.port == port and p.protocol == protocol)

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Pod:
        meta = _mapping(obj.get("metadata"), "Pod.metadata")
        name = _string(meta.get("name"), "Pod.metadata.name")
        where = f"Pod {meta.get('namespace')}/{name}"
        ports = []
        for c, container in enumerate(_mapping(obj.get("spec"), f"{where}: spec").get("containers") or []):
            for p, port in enumerate(container.get("ports") or []):
                at = f"{where}: spec.containers[{c}].ports[{p}]"
                ports.append(
                    ContainerPort(
                        _port_number(port.get("containerPort"), f"{at}.containerPort"),
                        _protocol(port.get("protocol"), f"{at}.protocol"),
                        port.get("name"),
                    )
                )
        return cls(
            _string(meta.get("namespace"), f"{where}: metadata.namespace"),
            name,
            dict(meta.get("labels") or {}),
            (obj.get("status") or {}).get("podIP"),
            tuple(ports),
        )


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":  # an absent key is "not in" any set
            return labels.get(self.key) not in self.values
        return (self.key in labels) == (self.operator == "Exists")


@dataclass(frozen=True)
class LabelSelector:
    """matchLabels and matchExpressions, ANDed; an empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.expressions
        )


@dataclass(frozen=True)
class IPBlock:
    cidr: _IPNetwork
    excepts: tuple[_IPNetwork, ...] = ()

    def contains(self, ip: str | None) -> bool:
        if ip is None:
            return False
        address = ipaddress.ip_address(ip)
        # `in` is False across IP versions, so an IPv6 block never matches an IPv4 pod.
        return address in self.cidr and not any(address in e for e in self.excepts)


@dataclass(frozen=True)
class Peer:
    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    def matches(self, pod: Pod, namespace_labels: Mapping[str, str], policy_namespace: str) -> bool:
        if self.ip_block is not None:
            return self.ip_block.contains(pod.ip)
        if self.namespace_selector is None:  # a podSelector alone stays in the policy's namespace
            in_namespace = pod.namespace == policy_namespace
        else:
            in_namespace = self.namespace_selector.matches(namespace_labels)
        return in_namespace and (self.pod_selector is None or self.pod_selector.matches(pod.labels))


@dataclass(frozen=True)
class PolicyPort:
    protocol: Protocol = "TCP"
    port: int | str | None = None  # None: every port of the protocol; str: a named port
    end_port: int | None = None

    def matches(self, port: int, protocol: Protocol, port_names: frozenset[str]) -> bool:
        if protocol != self.protocol:
            return False
        if self.port is None:
            return True
        if isinstance(self.port, str):
            return self.port in port_names
        if self.end_port is None:
            return port == self.port
        return self.port <= port <= self.end_port


@dataclass(frozen=True)
class Rule:
    peers: tuple[Peer, ...] = ()  # empty: every peer
    ports: tuple[PolicyPort, ...] = ()  # empty: every port

    def match(
        self,
        pod: Pod,
        namespace_labels: Mapping[str, str],
        policy_namespace: str,
        port: int,
        protocol: Protocol,
        port_names: frozenset[str],
    ) -> tuple[int | None, int | None] | None:
        """The first matching peer and port entries (None for a list the rule leaves empty), or None."""
        peer_at = port_at = None
        if self.peers:
            peer_at = next(
                (i for i, p in enumerate(self.peers) if p.matches(pod, namespace_labels, policy_namespace)), -1
            )
        if self.ports:
            port_at = next((i for i, p in enumerate(self.ports) if p.matches(port, protocol, port_names)), -1)
        return None if peer_at == -1 or port_at == -1 else (peer_at, port_at)


@dataclass(frozen=True)
class NetworkPolicy:
    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: frozenset[Direction]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        return self.ingress if direction == "ingress" else self.egress

    def denies_by_default(self, direction: Direction) -> bool:
        """A default-deny for the direction: selects every pod of its namespace and allows nothing."""
        return direction in self.policy_types and self.pod_selector == LabelSelector() and not self.rules(direction)

    def isolates(self, pod: Pod, direction: Direction) -> bool:
        return (
            direction in self.policy_types and pod.namespace == self.namespace and self.pod_selector.matches(pod.labels)
        )

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], namespace: str | None = None) -> NetworkPolicy:
        """Parse a NetworkPolicy in the API's JSON shape; ``namespace`` is used when metadata has none."""
        meta = _mapping(obj.get("metadata"), "NetworkPolicy.metadata")
        name = _string(meta.get("name"), "NetworkPolicy.metadata.name")
        ns = meta.get("namespace") or namespace
        if not ns:
            raise ProfileError(f"NetworkPolicy {name}: metadata.namespace is missing; pass namespace= for a manifest")
        where = f"NetworkPolicy {ns}/{name}: spec"
        spec = _fields(obj.get("spec") or {}, where, ("podSelector", "policyTypes", "ingress", "egress"))
        ingress = tuple(_rule(r, f"{where}.ingress[{i}]", "from") for i, r in enumerate(spec.get("ingress") or []))
        egress = tuple(_rule(r, f"{where}.egress[{i}]", "to") for i, r in enumerate(spec.get("egress") or []))
        types: set[Direction] = set()
        for t in spec.get("policyTypes") or []:
            if t not in ("Ingress", "Egress"):
                raise ProfileError(f"{where}.policyTypes: {t!r} is not Ingress or Egress")
            types.add("ingress" if t == "Ingress" else "egress")
        if not types:  # the apiserver's defaulting
            types = {"ingress", "egress"} if egress else {"ingress"}
        selector = _selector(spec.get("podSelector") or {}, f"{where}.podSelector")
        return cls(ns, name, selector, frozenset(types), ingress, egress)


# --- verdicts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleMatch:
    """One rule that allows the traffic: which policy, which rule, which peer and port entry."""

    policy: str
    direction: Direction
    rule: int
    peer: int | None  # index into from/to; None when the rule has none (every peer)
    port: int | None  # index into ports; None when the rule has none (every port)

    def __str__(self) -> str:
        text = f"{self.policy} {self.direction}[{self.rule}]"
        if self.peer is not None:
            text += f" {'from' if self.direction == 'ingress' else 'to'}[{self.peer}]"
        if self.port is not None:
            text += f" ports[{self.port}]"
        return text


@dataclass(frozen=True)
class DirectionVerdict:
    direction: Direction
    pod: str  # the pod whose policies decide: the destination for ingress, the source for egress
    isolating: tuple[str, ...]  # policies that select the pod for this direction
    matches: tuple[RuleMatch, ...]

    @property
    def allowed(self) -> bool:
        return not self.isolating or bool(self.matches)

    def explain(self) -> str:
        where = f"{self.direction} {'to' if self.direction == 'ingress' else 'from'} {self.pod}"
        if not self.isolating:
            return f"{where}: open (no policy selects it for {self.direction})"
        if self.matches:
            return f"{where}: allowed by " + ", ".join(str(m) for m in self.matches)
        return f"{where}: denied (isolated by {', '.join(self.isolating)}; no rule allows it)"

    def as_evidence(self) -> dict[str, list[str]]:
        return {"isolated_by": list(self.isolating), "allowed_by": [str(m) for m in self.matches]}


@dataclass(frozen=True)
class Verdict:
    src: str
    dst: str
    port: int
    protocol: Protocol
    egress: DirectionVerdict
    ingress: DirectionVerdict

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    def explain(self) -> str:
        state = "allowed" if self.allowed else "denied"
        traffic = f"{self.src} -> {self.dst} {self.port}/{self.protocol}"
        return f"{traffic}: {state}; {self.egress.explain()}; {self.ingress.explain()}"

    def as_evidence(self) -> dict[str, Any]:
        return {
            "from": self.src,
            "to": self.dst,
            "port": self.port,
            "protocol": self.protocol,
            "expected": "allowed" if self.allowed else "denied",
            "egress": self.egress.as_evidence(),
            "ingress": self.ingress.as_evidence(),
            "explanation": self.explain(),
        }


class Matrix:
    """The expected truth table: a verdict per (from pod, to pod, port/protocol)."""

    def __init__(self, pods: Sequence[str], ports: Sequence[PortProtocol], verdicts: Iterable[Verdict]) -> None:
        self.pods = tuple(pods)
        self.ports = tuple(ports)
        self._verdicts = {(v.src, v.dst, PortProtocol(v.port, v.protocol)): v for v in verdicts}

    def verdict(self, src: str, dst: str, port: int, protocol: Protocol = "TCP") -> Verdict:
        try:
            return self._verdicts[(src, dst, PortProtocol(port, protocol))]
        except KeyError:
            raise KeyError(
                f"no verdict for {src} -> {dst} {port}/{protocol}; pods: {', '.join(self.pods)}; "
                f"ports: {', '.join(map(str, self.ports))}"
            ) from None

    def allowed(self, src: str, dst: str, port: int, protocol: Protocol = "TCP") -> bool:
        return self.verdict(src, dst, port, protocol).allowed

    def __iter__(self) -> Iterator[Verdict]:
        return iter(self._verdicts.values())

    def allowed_pairs(self, port: int, protocol: Protocol = "TCP") -> frozenset[tuple[str, str]]:
        return frozenset((v.src, v.dst) for v in self if v.allowed and (v.port, v.protocol) == (port, protocol))

    def cross_namespace_allowed(self) -> list[Verdict]:
        """Allowed traffic whose ends are in different namespaces: for tenants, what crosses a boundary."""
        return [v for v in self if v.allowed and v.src.split("/")[0] != v.dst.split("/")[0]]

    def table(self, port: int, protocol: Protocol = "TCP") -> str:
        """The upstream e2e layout: rows are sources, columns destinations, ``.`` allowed, ``X`` denied."""
        lines = [f"{port}/{protocol}", "\t".join(["-", *self.pods])]
        for src in self.pods:
            cells = ["." if self.allowed(src, dst, port, protocol) else "X" for dst in self.pods]
            lines.append("\t".join([src, *cells]))
        return "\n".join(lines)


# --- the engine ----------------------------------------------------------------------------------


class PolicyEngine:
    """Namespaces, pods and policies, indexed once; ``evaluate`` answers one question, ``matrix`` all of them."""

    def __init__(
        self,
        namespaces: Iterable[Namespace | Mapping[str, Any]],
        pods: Iterable[Pod | Mapping[str, Any]],
        policies: Iterable[NetworkPolicy | Mapping[str, Any]],
    ) -> None:
        self.namespaces = {n.name: n for n in (_as(Namespace, n) for n in namespaces)}
        self.pods: dict[str, Pod] = {}
        for pod in (_as(Pod, p) for p in pods):
            if pod.key in self.pods:
                raise ProfileError(f"pod {pod.key} is given twice")
            if pod.namespace not in self.namespaces:
                known = ", ".join(sorted(self.namespaces)) or "none"
                raise ProfileError(
                    f"pod {pod.key}: namespace {pod.namespace!r} is not among the namespaces given ({known})"
                )
            self.pods[pod.key] = pod
        self.policies = [p if isinstance(p, NetworkPolicy) else NetworkPolicy.from_dict(p) for p in policies]
        self._isolating: dict[tuple[str, Direction], tuple[NetworkPolicy, ...]] = {}

    def pod(self, key: str) -> Pod:
        try:
            return self.pods[key]
        except KeyError:
            close = difflib.get_close_matches(key, self.pods, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ProfileError(f"no pod {key!r}; pods are namespace/name.{hint}") from None

    def isolating(self, pod: Pod, direction: Direction) -> tuple[NetworkPolicy, ...]:
        cache_key = (pod.key, direction)
        if cache_key not in self._isolating:
            self._isolating[cache_key] = tuple(p for p in self.policies if p.isolates(pod, direction))
        return self._isolating[cache_key]

    def evaluate(self, src: str, dst: str, port: int, protocol: Protocol = "TCP") -> Verdict:
        """One question: may pod ``src`` ("namespace/name") reach pod ``dst`` on ``port``/``protocol``?"""
        source, target = self.pod(src), self.pod(dst)
        names = target.port_names(port, protocol)  # named ports resolve on the destination, both ways
        return Verdict(
            source.key,
            target.key,
            port,
            protocol,
            egress=self._direction("egress", source, target, port, protocol, names),
            ingress=self._direction("ingress", target, source, port, protocol, names),
        )

    def matrix(self, ports: Iterable[PortProtocol | tuple[int, Protocol]]) -> Matrix:
        wanted = [PortProtocol(p[0], _protocol(p[1], "ports")) for p in ports]
        keys = [p.key for p in sorted(self.pods.values(), key=lambda p: (p.namespace, p.name))]
        verdicts = (self.evaluate(s, d, pp.port, pp.protocol) for pp in wanted for s in keys for d in keys)
        return Matrix(keys, wanted, verdicts)

    def _direction(
        self, direction: Direction, subject: Pod, peer: Pod, port: int, protocol: Protocol, names: frozenset[str]
    ) -> DirectionVerdict:
        isolating = self.isolating(subject, direction)
        peer_labels = self.namespaces[peer.namespace].selector_labels
        matches = []
        for policy in isolating:
            for index, rule in enumerate(policy.rules(direction)):
                entries = rule.match(peer, peer_labels, policy.namespace, port, protocol, names)
                if entries is not None:
                    matches.append(RuleMatch(policy.key, direction, index, *entries))
        return DirectionVerdict(direction, subject.key, tuple(p.key for p in isolating), tuple(matches))


def expected_matrix(
    namespaces: Iterable[Namespace | Mapping[str, Any]],
    pods: Iterable[Pod | Mapping[str, Any]],
    policies: Iterable[NetworkPolicy | Mapping[str, Any]],
    ports: Iterable[PortProtocol | tuple[int, Protocol]],
) -> Matrix:
    """The expected truth table for every pair of pods on every port/protocol given."""
    return PolicyEngine(namespaces, pods, policies).matrix(ports)


# --- parsing helpers -----------------------------------------------------------------------------


def _as(kind: type[Any], obj: Any) -> Any:
    return obj if isinstance(obj, kind) else kind.from_dict(obj)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProfileError(f"{where}: expected a mapping, got {value!r}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ProfileError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _fields(value: Any, where: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    # An unknown key is refused: a misspelt `podSelector` read as absent would select every pod.
    obj = _mapping(value, where)
    for key in obj:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Valid keys: {', '.join(allowed)}."
            raise ProfileError(f"{where}: unknown key {key!r}.{hint}")
    return obj


def _protocol(value: Any, where: str) -> Protocol:
    if value is None:
        return "TCP"
    if value not in PROTOCOLS:
        raise ProfileError(f"{where}: {value!r} is not one of {', '.join(PROTOCOLS)}")
    return cast(Protocol, value)


def _port_number(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ProfileError(f"{where}: {value!r} is not a port number (1-65535)")
    return value


def _selector(value: Any, where: str) -> LabelSelector:
    obj = _fields(value, where, ("matchLabels", "matchExpressions"))
    labels = tuple(sorted(_mapping(obj.get("matchLabels") or {}, f"{where}.matchLabels").items()))
    expressions = []
    for i, expr in enumerate(obj.get("matchExpressions") or []):
        at = f"{where}.matchExpressions[{i}]"
        expr = _fields(expr, at, ("key", "operator", "values"))
        operator, values = expr.get("operator"), expr.get("values") or []
        if operator not in _OPERATORS:
            raise ProfileError(f"{at}.operator: {operator!r} is not one of {', '.join(_OPERATORS)}")
        if (operator in ("In", "NotIn")) != bool(values):
            need = "needs at least one value" if operator in ("In", "NotIn") else "takes no values"
            raise ProfileError(f"{at}: operator {operator} {need}")
        expressions.append(Requirement(_string(expr.get("key"), f"{at}.key"), operator, frozenset(values)))
    return LabelSelector(labels, tuple(expressions))


def _network(value: Any, where: str) -> _IPNetwork:
    try:
        return ipaddress.ip_network(_string(value, where), strict=False)
    except ValueError as exc:
        raise ProfileError(f"{where}: {value!r} is not a CIDR ({exc})") from None


def _peer(value: Any, where: str) -> Peer:
    obj = _fields(value, where, ("podSelector", "namespaceSelector", "ipBlock"))
    pods, namespaces = obj.get("podSelector"), obj.get("namespaceSelector")
    block = obj.get("ipBlock")
    if block is not None:
        if pods is not None or namespaces is not None:
            raise ProfileError(f"{where}: ipBlock cannot be combined with podSelector or namespaceSelector")
        block = _fields(block, f"{where}.ipBlock", ("cidr", "except"))
        cidr = _network(block.get("cidr"), f"{where}.ipBlock.cidr")
        excepts = tuple(_network(e, f"{where}.ipBlock.except[{i}]") for i, e in enumerate(block.get("except") or []))
        return Peer(ip_block=IPBlock(cidr, excepts))
    if pods is None and namespaces is None:
        raise ProfileError(f"{where}: a peer needs podSelector, namespaceSelector or ipBlock")
    return Peer(
        None if pods is None else _selector(pods, f"{where}.podSelector"),
        None if namespaces is None else _selector(namespaces, f"{where}.namespaceSelector"),
    )


def _policy_port(value: Any, where: str) -> PolicyPort:
    obj = _fields(value, where, ("protocol", "port", "endPort"))
    protocol = _protocol(obj.get("protocol"), f"{where}.protocol")
    port, end = obj.get("port"), obj.get("endPort")
    if isinstance(port, str) and not port.isdigit():
        if end is not None:
            raise ProfileError(f"{where}.endPort: not allowed with the named port {port!r}")
        return PolicyPort(protocol, port)
    if port is None:
        if end is not None:
            raise ProfileError(f"{where}.endPort: needs a numeric port")
        return PolicyPort(protocol)
    number = _port_number(port, f"{where}.port")
    if end is not None and _port_number(end, f"{where}.endPort") < number:
        raise ProfileError(f"{where}.endPort: {end} is less than port {number}")
    return PolicyPort(protocol, number, end)


def _rule(value: Any, where: str, peers_key: str) -> Rule:
    obj = _fields(value, where, (peers_key, "ports"))
    peers = tuple(_peer(p, f"{where}.{peers_key}[{i}]") for i, p in enumerate(obj.get(peers_key) or []))
    ports = tuple(_policy_port(p, f"{where}.ports[{i}]") for i, p in enumerate(obj.get("ports") or []))
    return Rule(peers, ports)
