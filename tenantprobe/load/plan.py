"""Preparing a load run: the target, its tenants, their tokens and seed data, as one plan.

The master (or the single process) opens the target from its profile (starting the
reference app when the profile says ``launch: reference-app``), provisions the tenants a
scenario needs, mints one token per tenant, seeds a few objects each, and sends the plan
(plain JSON) to every worker. Workers never touch the profile's secrets beyond what the
plan carries.

The workload is a list of operations with weights. The default drives the reference app's
notes (list, read, search, create, update); ``--workload FILE`` names a YAML file of the
same shape for another target::

    operations:
      - {name: list,   method: GET,   path: /v1/notes, query: {limit: "20"}, weight: 30}
      - {name: read,   method: GET,   path: "/v1/notes/{id}", weight: 35}
      - {name: create, method: POST,  path: /v1/notes, body: {title: "load {word} {n}"}, weight: 10}
    seed: {operation: create, count: 5}
    usage: {path: /v1/usage, rate: requests_per_second, burst: request_burst,
            storage_used: notes.used, storage_limit: notes.limit}

Placeholders: ``{id}`` one of the tenant's known object ids, ``{word}`` a word of the seeded
vocabulary, ``{n}`` a counter, ``{tenant}`` the tenant's slug.
"""

from __future__ import annotations

import difflib
import functools
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx
import yaml

from tenantprobe.credentials import TenantRef, render
from tenantprobe.errors import ProfileError, ProvisioningError
from tenantprobe.profiles import load_profile
from tenantprobe.target import Target

VOCABULARY = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")
SETUP_CONCURRENCY = 16
DEFAULT_WORKLOAD: dict[str, Any] = {
    "operations": [
        {"name": "list", "method": "GET", "path": "/v1/notes", "query": {"limit": "20"}, "weight": 30},
        {"name": "read", "method": "GET", "path": "/v1/notes/{id}", "weight": 35},
        {"name": "search", "method": "GET", "path": "/v1/notes/search", "query": {"q": "{word}"}, "weight": 15},
        {
            "name": "create",
            "method": "POST",
            "path": "/v1/notes",
            "body": {"title": "load {word} {n}", "body": "{tenant} note {n} about {word}", "tags": ["{word}"]},
            "weight": 10,
        },
        {
            "name": "update",
            "method": "PATCH",
            "path": "/v1/notes/{id}",
            "body": {"title": "edited {word} {n}"},
            "weight": 10,
        },
    ],
    "seed": {"operation": "create", "count": 5},
    # Where a tenant reads its own limits and usage (dotted paths into the JSON answer).
    "usage": {
        "path": "/v1/usage",
        "rate": "requests_per_second",
        "burst": "request_burst",
        "storage_used": "notes.used",
        "storage_limit": "notes.limit",
    },
}


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    weight: float
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def needs_id(self) -> bool:
        return "{id}" in self.path or "{id}" in str(self.query)


def load_workload(path: str | None, mix: str = "") -> tuple[list[Operation], dict[str, Any], dict[str, str]]:
    """The operations (weights adjusted by ``--mix name=weight,...``), the seed and the usage settings."""
    raw = DEFAULT_WORKLOAD
    if path:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ProfileError(f"--workload {path}: cannot read it ({exc.strerror})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("operations"), list):
            raise ProfileError(f"--workload {path}: expected a mapping with an 'operations' list")
    operations = [
        _operation(item, index, path or "the default workload") for index, item in enumerate(raw["operations"])
    ]
    names = {op.name for op in operations}
    weights: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in mix.split(","))):
        name, _, value = item.partition("=")
        if name not in names:
            raise ProfileError(f"--mix {item!r}: no operation {name!r}; the workload has {', '.join(sorted(names))}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ProfileError(f"--mix {item!r}: {value!r} is not a number") from None
    operations = [Operation(**{**asdict(op), "weight": weights.get(op.name, op.weight)}) for op in operations]
    if not any(op.weight > 0 for op in operations):
        raise ProfileError("--mix: every operation has weight 0; give at least one a positive weight")
    seed = dict(raw.get("seed") or {})
    if seed and seed.get("operation") not in names:
        raise ProfileError(f"workload seed.operation {seed.get('operation')!r} is not one of the operations")
    return operations, seed, dict(raw.get("usage") or {})


def _operation(item: Any, index: int, source: str) -> Operation:
    """One entry of ``operations``, or a ProfileError naming the entry, the key and the fix."""
    where = f"--workload {source}: operations[{index}]"
    if not isinstance(item, dict):
        raise ProfileError(f"{where} is {item!r}; expected a mapping such as {{name: read, method: GET, path: /v1/x}}")
    known = {f.name for f in fields(Operation)}
    unknown = sorted(set(item) - known)
    if unknown:
        hints = [f"{key!r}" + _did_you_mean(key, known) for key in unknown]
        raise ProfileError(f"{where}: unknown key {', '.join(hints)}; the keys are {', '.join(sorted(known))}")
    missing = [key for key in ("name", "method", "path", "weight") if key not in item]
    if missing:
        raise ProfileError(f"{where} ({item.get('name', 'unnamed')}): add {', '.join(missing)}")
    weight = item["weight"]
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise ProfileError(f"{where} ({item['name']}): weight {weight!r} must be a number >= 0")
    return Operation(**{**item, "method": str(item["method"]).upper(), "weight": float(weight)})


def _did_you_mean(key: str, known: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def reweigh(operations: list[Operation], mix: str) -> list[Operation]:
    """The same operations with the weights of ``mix`` (``name=weight,...``)."""
    weights = {}
    names = {op.name for op in operations}
    for item in filter(None, (part.strip() for part in mix.split(","))):
        name, _, value = item.partition("=")
        if name not in names:
            raise ProfileError(
                f"--flood-mix {item!r}: no operation {name!r}; the workload has {', '.join(sorted(names))}"
            )
        try:
            weights[name] = float(value)
        except ValueError:
            raise ProfileError(f"--flood-mix {item!r}: {value!r} is not a number") from None
    return [
        Operation(**{**asdict(op), "weight": weights.get(op.name, 0.0 if weights else op.weight)}) for op in operations
    ]


def dig(data: Any, dotted: str) -> float | None:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return float(data) if isinstance(data, int | float) and not isinstance(data, bool) else None


@dataclass
class PlannedTenant:
    key: str
    tenant_id: str
    slug: str
    role: str
    token: str
    ids: list[str] = field(default_factory=list)

    def meta(self) -> dict[str, str]:
        return {"key": self.key, "tenant_id": self.tenant_id, "slug": self.slug, "role": self.role}


def fill(template: Any, tenant: PlannedTenant, rng: random.Random, counter: int) -> Any:
    values = {"word": rng.choice(VOCABULARY), "n": str(counter), "tenant": tenant.slug}
    if tenant.ids:
        values["id"] = rng.choice(tenant.ids)
    return render(template, values)


def send(
    client: httpx.Client, op: Operation, tenant: PlannedTenant, rng: random.Random, counter: int
) -> httpx.Response:
    """One operation as the tenant, outside locust (seeding)."""
    return client.request(
        op.method,
        fill(op.path, tenant, rng, counter),
        params=fill(op.query, tenant, rng, counter) or None,
        json=fill(op.body, tenant, rng, counter) if op.body is not None else None,
        headers={"Authorization": f"Bearer {tenant.token}"},
    )


def patient(call: Callable[[], httpx.Response], attempts: int = 6) -> httpx.Response:
    """A set-up request that waits out a 429 (Retry-After, capped) instead of failing the run."""
    response = call()
    for _ in range(attempts - 1):
        if response.status_code != 429:
            break
        retry_after = response.headers.get("Retry-After", "1")
        time.sleep(min(float(retry_after) if retry_after.isdigit() else 1.0, 5.0))
        response = call()
    return response


def resolve_profile_path(option: str) -> Path:
    path = Path(option)
    if path.exists() or path.is_absolute():
        return path
    # `locust -f scenarios` from elsewhere still finds the bundled reference profile.
    bundled = Path(__file__).resolve().parents[2] / option
    return bundled if bundled.exists() else path


class Preparation:
    """The opened target and the tenants provisioned for one run."""

    def __init__(self, profile_path: str, faults: tuple[str, ...], log_dir: Path) -> None:
        self.profile_path = resolve_profile_path(profile_path)
        self.profile = load_profile(self.profile_path)
        self.target = Target.open(self.profile, faults, log_dir=log_dir)
        self.run_id = uuid.uuid4().hex[:6]
        self.provision_seconds: list[float] = []

    @property
    def launched_pids(self) -> dict[str, list[int]]:
        return self.target.stack.pids() if self.target.stack is not None else {}

    def tenants(
        self, scenario: str, roles: dict[str, int], operations: list[Operation], seed: dict[str, Any]
    ) -> list[PlannedTenant]:
        """Provision, mint and seed ``roles[role]`` tenants of each role, concurrently."""
        wanted = [(role, index) for role, count in roles.items() for index in range(count)]
        seed_op = next((op for op in operations if op.name == seed.get("operation")), None)

        def one(item: tuple[str, int]) -> PlannedTenant:
            role, index = item
            slug = f"lt-{scenario[:6]}-{self.run_id}-{role[:5]}-{index:04d}"
            started = time.perf_counter()
            ref = self.target.provision(slug)
            self.provision_seconds.append(time.perf_counter() - started)
            token = self.target.tokens.token(ref, self._writer_role())
            tenant = PlannedTenant(f"{role}-{index:04d}", ref.id, ref.slug, role, token)
            if seed_op is not None:
                self._seed(tenant, seed_op, int(seed.get("count", 5)))
            return tenant

        with ThreadPoolExecutor(SETUP_CONCURRENCY) as pool:
            return list(pool.map(one, wanted))

    def _writer_role(self) -> str:
        # The lowest role that may write: tenants in a load test create and update objects.
        roles = list(self.profile.roles)
        return "member" if "member" in roles else roles[0]

    def _seed(self, tenant: PlannedTenant, op: Operation, count: int) -> None:
        rng = random.Random(tenant.slug)
        with httpx.Client(base_url=self.target.base_url, timeout=30) as client:
            for n in range(count):
                response = patient(functools.partial(send, client, op, tenant, rng, n))
                if response.status_code >= 400:
                    raise ProvisioningError(
                        f"seeding tenant {tenant.slug}: {op.method} {op.path} answered {response.status_code}: "
                        f"{response.text[:200]}"
                    )
                created = response.json()
                if isinstance(created, dict) and isinstance(created.get("id"), str):
                    tenant.ids.append(created["id"])

    def usage(self, tenant: PlannedTenant, settings: dict[str, str]) -> dict[str, float | None]:
        """The tenant's limits and usage as the target reports them ({} when it does not)."""
        if not settings.get("path"):
            return {}
        url = self.target.base_url + settings["path"]
        headers = {"Authorization": f"Bearer {tenant.token}"}
        response = patient(lambda: httpx.get(url, headers=headers, timeout=30))
        if response.status_code != 200:
            return {}
        data = response.json()
        return {key: dig(data, path) for key, path in settings.items() if key != "path"}

    def provisioning_template(self) -> dict[str, Any]:
        """What a worker needs to onboard tenants itself (provisioning scenario)."""
        settings = self.profile.provisioning
        return {
            "path": settings.path,
            "body": settings.body,
            "id_field": settings.id_field,
            "platform_token": self.target.tokens.token(None, "platform_admin"),
            "profile": str(self.profile_path.resolve()),
            "key_file": self.target.profile.auth.key_file,
            "writer_role": self._writer_role(),
        }

    def close(self) -> None:
        self.target.close()


def token_source(template: dict[str, Any], base_url: str) -> Any:
    """A TokenSource for tenants onboarded during the run (the provisioning scenario)."""
    from dataclasses import replace

    from tenantprobe.credentials import TokenSource

    profile = load_profile(Path(template["profile"]))
    auth = replace(profile.auth, key_file=template["key_file"]) if template.get("key_file") else profile.auth
    return TokenSource(auth, base_url)


def tenant_ref(tenant_id: str, slug: str) -> TenantRef:
    return TenantRef(tenant_id, slug)
