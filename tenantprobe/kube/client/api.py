"""A small Kubernetes API client: any object by its manifest, server-side apply, access reviews.

The official ``kubernetes`` package does what is hard to get right (kubeconfig loading with
client certificates, tokens, exec plugins and OIDC, TLS); this module sends the requests
through it and keeps every answer as a :class:`KubeResponse`, because the apiserver's answers
are the evidence of the checks. It is the one place that knows the client's internals.

Example::

    client = KubeClient.from_kubeconfig(Path("~/.kube/config").expanduser())
    response = client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-acme"}})
    response.status  # 201 created, 200 already there
    review = client.impersonating("admin@acme", "tenant:acme:admins").review(Access("list", "secrets", namespace="x"))
    review.allowed  # False
"""

from __future__ import annotations

import difflib
import json
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantprobe.errors import ProfileError, TargetError

FIELD_MANAGER = "tenantprobe"
EVIDENCE_CHARS = 2000


@dataclass(frozen=True)
class Kind:
    """Where the objects of one kind live in the API."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    def collection(self, namespace: str | None = None) -> str:
        prefix = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced:
            if not namespace:
                raise ProfileError(f"{self.kind} is namespaced: give metadata.namespace")
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"


_KINDS = [
    Kind("v1", "Namespace", "namespaces", namespaced=False),
    Kind("v1", "ResourceQuota", "resourcequotas"),
    Kind("v1", "LimitRange", "limitranges"),
    Kind("v1", "ServiceAccount", "serviceaccounts"),
    Kind("v1", "ConfigMap", "configmaps"),
    Kind("v1", "Secret", "secrets"),
    Kind("v1", "Service", "services"),
    Kind("v1", "Pod", "pods"),
    Kind("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    Kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    Kind("networking.k8s.io/v1", "Ingress", "ingresses"),
    Kind("rbac.authorization.k8s.io/v1", "Role", "roles"),
    Kind("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    Kind("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", namespaced=False),
    Kind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    Kind("apps/v1", "Deployment", "deployments"),
    Kind("apps/v1", "StatefulSet", "statefulsets"),
    Kind("batch/v1", "Job", "jobs"),
    Kind("batch/v1", "CronJob", "cronjobs"),
    Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    Kind("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
]
KINDS: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in _KINDS}


def kind_of(manifest: dict[str, Any]) -> Kind:
    """The :class:`Kind` of a manifest; an unknown one is named with the closest known kinds."""
    key = (str(manifest.get("apiVersion", "")), str(manifest.get("kind", "")))
    if key in KINDS:
        return KINDS[key]
    known = [f"{v}/{k}" for v, k in KINDS]
    close = difflib.get_close_matches("/".join(key), known, n=2, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ProfileError(f"apiVersion {key[0]!r} kind {key[1]!r} is not a kind tenantprobe can apply.{hint}")


def object_path(manifest: dict[str, Any]) -> str:
    """The API path of the object a manifest describes."""
    metadata = manifest.get("metadata") or {}
    return f"{kind_of(manifest).collection(metadata.get('namespace'))}/{metadata['name']}"


def describe(manifest: dict[str, Any]) -> str:
    """``Kind namespace/name`` (``Kind name`` when cluster-scoped), as progress and errors show it."""
    metadata = manifest.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") and kind_of(manifest).namespaced else ""
    return f"{manifest['kind']} {where}{metadata.get('name')}"


@dataclass(frozen=True)
class Identity:
    """Who a client speaks as: a user and groups (a client certificate, a token, or impersonation)."""

    user: str
    groups: tuple[str, ...] = ()
    impersonated: bool = False

    def __str__(self) -> str:
        return f"{self.user} (groups: {', '.join(self.groups) or 'none'})"

    def kubectl_flags(self) -> str:
        if not self.impersonated:
            return f"--kubeconfig <{self.user}'s kubeconfig>"
        return " ".join(["--as", shlex.quote(self.user), *(f"--as-group {shlex.quote(g)}" for g in self.groups)])


@dataclass
class KubeResponse:
    """One request to the apiserver and its answer: the unit of evidence of a Kubernetes check."""

    identity: Identity
    method: str
    path: str
    status: int
    body: Any
    request_body: Any = None
    warnings: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        """The apiserver's explanation (the ``Status`` message of a refusal)."""
        if isinstance(self.body, dict) and self.body.get("kind") == "Status":
            return str(self.body.get("message", ""))
        return ""

    def evidence(self) -> dict[str, Any]:
        body = self.body
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "metadata"} | {
                "metadata": {k: v for k, v in (body.get("metadata") or {}).items() if k != "managedFields"}
            }
        text = json.dumps(body, sort_keys=True, default=str)
        return {
            "actor": str(self.identity),
            "request": {"method": self.method, "path": self.path, "body": self.request_body},
            "response": {
                "status": self.status,
                "body": json.loads(text) if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS],
                "warnings": self.warnings,
            },
        }


@dataclass(frozen=True)
class Access:
    """The attributes of one access review: a verb on a resource, in a namespace or cluster-wide."""

    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None

    def attributes(self) -> dict[str, str]:
        attributes = {"verb": self.verb, "resource": self.resource, "group": self.group}
        for key in ("namespace", "name", "subresource"):
            if getattr(self, key):
                attributes[key] = getattr(self, key)
        return attributes

    def __str__(self) -> str:
        resource = self.resource + (f"/{self.subresource}" if self.subresource else "")
        resource += f".{self.group}" if self.group else ""
        target = f" {self.name}" if self.name else ""
        where = f" in {self.namespace}" if self.namespace else " cluster-wide"
        return f"{self.verb} {resource}{target}{where}"

    def kubectl(self, identity: Identity) -> str:
        resource = self.resource + (f".{self.group}" if self.group else "")
        resource += f"/{self.name}" if self.name else ""
        parts = ["kubectl", "auth", "can-i", self.verb, resource]
        if self.subresource:
            parts.append(f"--subresource={self.subresource}")
        parts.append(f"-n {self.namespace}" if self.namespace else "--all-namespaces")
        return " ".join([*parts, identity.kubectl_flags()])


@dataclass(frozen=True)
class Review:
    """The apiserver's answer to a SelfSubjectAccessReview."""

    access: Access
    allowed: bool
    reason: str
    response: KubeResponse

    def evidence(self) -> dict[str, Any]:
        identity = self.response.identity
        return {
            "actor": str(identity),
            "request": {"kind": "SelfSubjectAccessReview", "resourceAttributes": self.access.attributes()},
            "response": {"allowed": self.allowed, "reason": self.reason, "status": self.response.status},
            "kubectl": self.access.kubectl(identity),
        }


def _status_message(body: bytes | str | None) -> str:
    """The ``message`` of a ``Status`` the apiserver answered with, else the start of the body."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        return str(json.loads(text).get("message") or text[:300])
    except (ValueError, AttributeError):
        return text[:300]


def _exit_status(status: str) -> tuple[int, str]:
    """Exit code and message of the final ``Status`` of an exec (channel 3): 0 on Success, else its ExitCode cause."""
    try:
        parsed = json.loads(status)
    except ValueError:
        return 126, f"the exec ended without a status: {status[:200]!r}"
    if parsed.get("status") == "Success":
        return 0, ""
    message = str(parsed.get("message", ""))
    for cause in (parsed.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode" and str(cause.get("message", "")).isdigit():
            return int(cause["message"]), message
    return 126, message


class KubeClient:
    """Requests as one identity. Each identity gets its own client configuration, never a shared one."""

    def __init__(self, api_client: Any, identity: Identity) -> None:
        self._api = api_client
        self.identity = identity
        self.server = str(api_client.configuration.host)

    @classmethod
    def from_kubeconfig(cls, path: Path, context: str | None = None, user: str = "kubeconfig user") -> KubeClient:
        """A client for the current (or named) context of a kubeconfig file."""
        try:
            from kubernetes import config
            from kubernetes.config.config_exception import ConfigException
        except ImportError:
            raise ProfileError(
                "the Kubernetes checks need the kubernetes client: pip install 'tenantprobe[k8s]'"
            ) from None

        if not path.is_file():
            raise ProfileError(f"kubeconfig {path}: no such file")
        try:
            api_client = config.new_client_from_config(config_file=str(path), context=context)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            raise ProfileError(f"kubeconfig {path}: {exc}") from None
        return cls(api_client, Identity(user))

    def _derived(self, identity: Identity, headers: dict[str, str], token: str | None = None) -> KubeClient:
        import copy

        from kubernetes import client

        configuration = copy.deepcopy(self._api.configuration)
        if token is not None:
            configuration.api_key = {"authorization": f"Bearer {token}"}
            configuration.api_key_prefix = {}
            configuration.refresh_api_key_hook = None
            configuration.cert_file = configuration.key_file = None
        derived = client.ApiClient(configuration=configuration)
        for name, value in headers.items():
            derived.default_headers[name] = value
        return KubeClient(derived, identity)

    def impersonating(self, user: str, group: str | None = None) -> KubeClient:
        """A new client that acts as ``user`` in ``group`` (needs the ``impersonate`` verb, as admins have)."""
        headers = {"Impersonate-User": user} | ({"Impersonate-Group": group} if group else {})
        return self._derived(Identity(user, (group,) if group else (), impersonated=True), headers)

    def with_token(self, token: str, identity: Identity) -> KubeClient:
        """A new client that authenticates with a bearer token (a service account's, say) instead."""
        return self._derived(identity, {}, token=token)

    # ------------------------------------------------------------------ requests
    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> KubeResponse:
        """Send one request; any HTTP status comes back as a response, only an unreachable server raises."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        headers = {"Accept": "application/json", "Content-Type": content_type}
        started = time.perf_counter()
        try:
            method, url, headers, payload, _ = self._api.param_serialize(
                method,
                path,
                query_params=list((query or {}).items()),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            raw = self._api.call_api(method, url, headers, payload, _request_timeout=timeout)
            data = raw.read()
        except (ApiException, HTTPError, OSError) as exc:
            raise TargetError(f"cannot reach the Kubernetes API at {self.server}: {exc}") from None
        try:
            parsed: Any = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return KubeResponse(
            identity=self.identity,
            method=method,
            path=path + (f"?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else ""),
            status=raw.status,
            body=parsed,
            request_body=body,
            warnings=list(raw.headers.getlist("Warning")) if hasattr(raw.headers, "getlist") else [],
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def apply(self, manifest: dict[str, Any], *, dry_run: bool = False, force: bool = True) -> KubeResponse:
        """Server-side apply: 201 when the object was created, 200 when it was already there."""
        query = {"fieldManager": FIELD_MANAGER, "force": "true" if force else "false"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request(
            "PATCH", object_path(manifest), query=query, body=manifest, content_type="application/apply-patch+yaml"
        )

    def create(self, manifest: dict[str, Any], *, dry_run: bool = False) -> KubeResponse:
        namespace = (manifest.get("metadata") or {}).get("namespace")
        query = {"dryRun": "All"} if dry_run else None
        return self.request("POST", kind_of(manifest).collection(namespace), query=query, body=manifest)

    def get(self, path: str) -> KubeResponse:
        return self.request("GET", path)

    def delete(self, path: str, *, dry_run: bool = False, background: bool = True) -> KubeResponse:
        query = {"propagationPolicy": "Background" if background else "Foreground"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("DELETE", path, query=query)

    def items(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        """The objects of a collection; an unexpected answer raises with the apiserver's message."""
        response = self.request("GET", path, query={"labelSelector": label_selector} if label_selector else None)
        if not response.ok:
            raise TargetError(f"GET {path} as {self.identity}: {response.status} {response.message}")
        return list(response.body.get("items", []))

    def review(self, access: Access) -> Review:
        """Ask the apiserver whether this identity may do ``access`` (SelfSubjectAccessReview)."""
        response = self.request(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body={
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": access.attributes()},
            },
        )
        if not response.ok:
            raise TargetError(
                f"SelfSubjectAccessReview as {self.identity} answered {response.status}: {response.message}"
            )
        status = response.body.get("status", {})
        reason = str(status.get("reason") or status.get("evaluationError") or "")
        return Review(access, bool(status.get("allowed")) and not status.get("denied"), reason, response)

    def exec(
        self, namespace: str, pod: str, command: Sequence[str], *, container: str | None = None, timeout: float = 30.0
    ) -> tuple[int, str, str]:
        """Exit code, stdout and stderr of ``command`` run in a pod, through the ``pods/exec`` subresource.

        Speaks the websocket channel protocol v4, which every apiserver passes through to the kubelet
        as is (v5 it translates to SPDY). A refused or broken exec comes back as exit code 126 with
        the reason; a command still running at ``timeout``, or a stream silent that long, as 124
        with the complete lines it printed."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import ws_client as typed_ws_client
        from websocket import WebSocketBadStatusException, WebSocketException, WebSocketTimeoutException

        ws_client: Any = typed_ws_client  # the package has no annotations

        query: list[tuple[str, str]] = [("command", part) for part in command]
        query += [("stdout", "true"), ("stderr", "true")] + ([("container", container)] if container else [])
        _, url, headers, _, _ = self._api.param_serialize(
            "GET",
            f"/api/v1/namespaces/{namespace}/pods/{pod}/exec",
            query_params=query,
            header_params={},
            auth_settings=["BearerToken"],
        )
        headers = {k.lower(): v for k, v in headers.items()} | {"sec-websocket-protocol": ws_client.V4_CHANNEL_PROTOCOL}
        if any(name.startswith("impersonate-") for name in headers):
            # The websocket carries only the Authorization header: it would run as the base identity.
            raise TargetError(f"exec as {self.identity}: impersonation is not carried by an exec stream")
        where = f"exec into {namespace}/{pod} as {self.identity}"
        try:
            stream = ws_client.WSClient(
                self._api.configuration, ws_client.get_websocket_url(url), headers, capture_all=False
            )
        except WebSocketBadStatusException as exc:
            return 126, "", f"{where}: the apiserver answered {exc.status_code}: {_status_message(exc.resp_body)}"
        except (ApiException, WebSocketException, OSError) as exc:
            return 126, "", f"{where}: {exc}"
        stream.sock.settimeout(timeout)  # a stalled frame cannot block past the budget
        try:
            stream.run_forever(timeout=timeout)
            late = stream.is_open()
            if not late:
                status = stream.read_channel(ws_client.ERROR_CHANNEL)
                stdout, stderr = stream.read_stdout(timeout=0), stream.read_stderr(timeout=0)
        except WebSocketTimeoutException:
            late = True
        except (WebSocketException, OSError) as exc:
            return 126, "", f"{where}: the stream broke: {exc}"
        finally:
            stream.close()  # a close frame, when the stream is still open
            stream.sock.shutdown()  # the socket, which close() leaves open once the server has closed
        if late:
            printed = stream.read_stdout(timeout=0)
            return 124, printed[: printed.rfind("\n") + 1], f"{where}: no end after {timeout:.0f} s"
        code, message = _exit_status(status)
        return code, stdout, stderr or message

    def version(self) -> str:
        response = self.get("/version")
        if not response.ok or not isinstance(response.body, dict):
            raise TargetError(f"GET {self.server}/version answered {response.status}")
        return str(response.body.get("gitVersion", "unknown"))

    def close(self) -> None:
        self._api.close()
