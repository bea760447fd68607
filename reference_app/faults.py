"""Seeded faults: realistic isolation bugs that can be switched on to prove the harness catches them.

``REFERENCE_APP_FAULTS=name,name`` turns faults on for every process of the app (API,
worker, internal service, and ``setup`` for the schema-level ones). None is ever on by
default; an unknown name stops the process with the list of valid names; any fault on is
logged as a WARNING at start.

Each fault is one module of ``reference_app.seeded_faults``, and the secure code knows nothing of it. The
module's docstring says which real mistake it imitates and which control of the
tenantprobe catalogue should catch it; its code is the faulty version of one piece of the
app, put in place when the process starts:

- ``REPLACES``: secure function or method → the faulty one (the secure code calls it
  through its module or class, so the replacement is what runs);
- ``WRAPS``: secure function or method → a function that takes it and returns the faulty
  one, which calls it (faults that wrap the same code compose);
- ``OVERRIDES``: FastAPI dependency → the faulty one (``app.dependency_overrides``);
- ``ENDPOINTS``: secure route handler → a function that takes it and returns the faulty
  handler (which may call it, or stand in for it: :func:`instead`); the route keeps its path,
  method, status and documentation.

Where defence in depth would hide an API-level leak, the fault also switches off the layer
below the way a real misconfiguration does (``PLATFORM_DSN``: the component connects with
the platform role's connection string, which bypasses row-level security, "because someone
reused the admin DSN"). ``FAULTS.md`` beside this file has the table.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import os
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fastapi import FastAPI

    from reference_app.config import Settings

ENV = "REFERENCE_APP_FAULTS"
Layer = Literal["data", "application", "api", "operations"]
LAYERS: tuple[Layer, ...] = ("data", "api", "application", "operations")
Component = Literal["API", "internal", "worker", "setup"]
_COMPONENT_NAMES = {"API": "API", "internal": "internal search service", "worker": "worker", "setup": "database set-up"}
Endpoint = Callable[..., Any]


class FaultConfigError(ValueError):
    """``REFERENCE_APP_FAULTS`` names a fault that does not exist, or two that replace the same code;
    the message lists the valid names, or the code they both replace."""


@dataclass(frozen=True)
class Fault:
    name: str
    layer: Layer
    control: str
    doc: str
    platform_dsn: bool = False  # realised with the component connecting as the platform (BYPASSRLS) role
    at_setup: bool = False  # realised when the database is set up (schema or role attributes)
    only_in: Component | None = None  # the one process it is seeded in (None: every process)
    replaces: Mapping[Callable[..., Any], Callable[..., Any]] = field(default_factory=dict, repr=False)
    wraps: Mapping[Callable[..., Any], Callable[[Any], Callable[..., Any]]] = field(default_factory=dict, repr=False)
    overrides: Mapping[Callable[..., Any], Callable[..., Any]] = field(default_factory=dict, repr=False)
    endpoints: Mapping[Endpoint, Callable[[Endpoint], Endpoint]] = field(default_factory=dict, repr=False)

    @property
    def active(self) -> bool:
        return self.name in active_names()

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")

    @property
    def below(self) -> str:
        """The layer beneath the fault that is switched off with it (a column of ``FAULTS.md``)."""
        if self.at_setup:
            return "realised by `setup`"
        return "connects as the platform role (no RLS)" if self.platform_dsn else "—"

    @property
    def code(self) -> str:
        """Where the fault lives, and which code of the app it takes the place of."""
        taken = [
            *(f"`{_dotted(secure)}`" for secure in [*self.replaces, *self.wraps]),
            *(f"dependency `{_dotted(secure)}`" for secure in self.overrides),
            *(f"route handler `{_dotted(secure)}`" for secure in self.endpoints),
        ]
        return f"`seeded_faults/{self.name}.py` for {', '.join(taken)}"


def _dotted(code: Callable[..., Any]) -> str:
    return f"{code.__module__.removeprefix('reference_app.')}.{code.__qualname__}"


def _declared(module: ModuleType) -> Fault:
    """The fault a module of this package declares (its docstring is the fault's documentation)."""
    values = vars(module)
    return Fault(
        name=module.__name__.rpartition(".")[2],
        layer=values["LAYER"],
        control=values["CONTROL"],
        doc=inspect.getdoc(module) or "",
        platform_dsn=values.get("PLATFORM_DSN", False),
        at_setup=values.get("AT_SETUP", False),
        only_in=values.get("ONLY_IN"),
        replaces=values.get("REPLACES", {}),
        wraps=values.get("WRAPS", {}),
        overrides=values.get("OVERRIDES", {}),
        endpoints=values.get("ENDPOINTS", {}),
    )


@cache
def _names() -> tuple[str, ...]:
    """The name of every fault: its module's, listed without importing it."""
    from reference_app import seeded_faults

    return tuple(sorted(info.name for info in pkgutil.iter_modules(seeded_faults.__path__)))


@cache
def _fault(name: str) -> Fault:
    """One fault, its module imported on first use (it imports the app code it replaces)."""
    from reference_app import seeded_faults

    return _declared(importlib.import_module(f"{seeded_faults.__name__}.{name}"))


def _table_order(fault: Fault) -> tuple[int, str]:
    return LAYERS.index(fault.layer), fault.name


class _Registry(Mapping[str, Fault]):
    """Name → fault, in table order (layer, then name).

    Lazy, so that app modules may import this one, and so that a process imports only the faults it
    turns on: the fault modules import the API's routes, which a worker has no use for (2 s of CPU).
    """

    def __getitem__(self, name: str) -> Fault:
        if name not in _names():
            raise KeyError(name)
        return _fault(name)

    def __contains__(self, name: object) -> bool:
        return name in _names()

    def __iter__(self) -> Iterator[str]:
        return (fault.name for fault in sorted(map(_fault, _names()), key=_table_order))

    def __len__(self) -> int:
        return len(_names())


REGISTRY: Mapping[str, Fault] = _Registry()


def __getattr__(name: str) -> Fault:
    """``faults.<name>``: the fault of that name."""
    if name.startswith("__") or name not in REGISTRY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return REGISTRY[name]


def parse(value: str | None) -> tuple[Fault, ...]:
    """Faults named in ``value`` (comma-separated); an unknown name raises FaultConfigError."""
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        hints = [
            f"{name!r} (did you mean {close[0]!r}?)"
            if (close := difflib.get_close_matches(name, _names(), n=1))
            else repr(name)
            for name in unknown
        ]
        raise FaultConfigError(f"{ENV}: unknown fault {', '.join(hints)}; valid names: {', '.join(_names())}")
    chosen = tuple(REGISTRY[name] for name in dict.fromkeys(names))
    check_disjoint(chosen)
    return chosen


@cache
def active_names() -> frozenset[str]:
    """The faults of this process, read once from the environment."""
    return frozenset(fault.name for fault in parse(os.environ.get(ENV)))


def active() -> tuple[Fault, ...]:
    """The faults of this process, in table order (faults that wrap the same code compose in that order)."""
    return tuple(sorted(map(_fault, active_names()), key=_table_order))


# ---------------------------------------------------------------------------------------- putting code in place
_installed: dict[str, Fault] = {}  # the faults whose code is in place in this process


def _owner(secure: Callable[..., Any]) -> tuple[Any, str]:
    """The module or class that holds ``secure``, and its name there."""
    owner: Any = sys.modules[secure.__module__]
    *path, name = secure.__qualname__.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, name


def _swap(fault: Fault) -> list[Callable[[], None]]:
    """Put the fault's code in place; returns how to put the secure code back."""
    undo: list[Callable[[], None]] = []
    changes = [
        *((secure, lambda current, faulty=faulty: faulty) for secure, faulty in fault.replaces.items()),
        *fault.wraps.items(),
    ]
    for secure, make in changes:
        owner, name = _owner(secure)
        held = vars(owner)[name]
        faulty = make(getattr(owner, name))
        setattr(owner, name, staticmethod(faulty) if isinstance(held, staticmethod) else faulty)
        undo.append(partial(setattr, owner, name, held))
    for secure, make in fault.endpoints.items():
        undo.append(_reroute(secure, make))
    return undo


def _reroute(secure: Endpoint, make: Callable[[Endpoint], Endpoint]) -> Callable[[], None]:
    """Give the route of ``secure`` (in its module's ``router``) the handler ``make`` builds from its current one."""
    from fastapi.datastructures import Default

    router = sys.modules[secure.__module__].router
    index, route = next(
        (i, r) for i, r in enumerate(router.routes) if getattr(r, "operation_id", None) == _operation_id(secure)
    )
    endpoint = make(route.endpoint)
    declared = inspect.signature(endpoint).return_annotation not in ("Any", Any)
    rerouted = type(route)(
        route.path,
        endpoint,
        methods=route.methods,
        status_code=route.status_code,
        tags=route.tags,
        dependencies=route.dependencies,
        responses=route.responses,
        name=route.name,
        summary=route.summary,
        description=route.description,
        response_description=route.response_description,
        operation_id=route.operation_id,
        openapi_extra=route.openapi_extra,
        response_model=Default(None) if declared else route.response_model,
        response_model_exclude_none=route.response_model_exclude_none,
    )
    router.routes[index] = rerouted
    router._mark_routes_changed()  # routers included in an app see the change

    def put_back() -> None:
        router.routes[index] = route
        router._mark_routes_changed()

    return put_back


@cache
def _operation_id(handler: Endpoint) -> str:
    """The operation id the secure handler's route was declared with (looked up before any fault wraps it)."""
    router = sys.modules[handler.__module__].router
    return str(next(r.operation_id for r in router.routes if getattr(r, "endpoint", None) is handler))


def instead(handler: Endpoint) -> Callable[[Endpoint], Endpoint]:
    """For ``ENDPOINTS``: ``handler`` stands in for the secure one."""
    return lambda secure: handler


def check_disjoint(faults: Iterable[Fault]) -> None:
    """Two faults that replace the same code cannot both be in place: refuse rather than drop one."""
    claimed: dict[Callable[..., Any], str] = {}
    for fault in faults:
        for secure in [*fault.replaces, *fault.overrides]:
            if secure in claimed:
                raise FaultConfigError(
                    f"{ENV}: {claimed[secure]} and {fault.name} both replace {_dotted(secure)}; seed them one at a time"
                )
            claimed[secure] = fault.name


def install(component: Component, logger: logging.Logger) -> tuple[Fault, ...]:
    """Put the code of every fault of ``REFERENCE_APP_FAULTS`` in place, and shout about it; call at start-up."""
    on = tuple(fault for fault in active() if fault.only_in in (None, component))
    for fault in on:
        if fault.name not in _installed:
            _swap(fault)
            _installed[fault.name] = fault
    if on:
        logger.warning(
            "!!! SEEDED FAULTS ACTIVE in the %s: %s -- this build is deliberately INSECURE; "
            "never serve real tenants with it !!!",
            _COMPONENT_NAMES[component],
            ", ".join(f"{fault.name} ({fault.control})" for fault in on),
        )
    return on


def connection_settings(component: Component, settings: Settings) -> Settings:
    """``settings`` as a faulty deployment has them: tenant work on the platform DSN when a fault reuses it."""
    if any(fault.platform_dsn and (fault.only_in or "API") == component for fault in _installed.values()):
        return settings.model_copy(update={"database_url": settings.platform_database_url})
    return settings


def configure(app: FastAPI) -> None:
    """Apply the installed faults' dependency overrides to ``app``."""
    for fault in _installed.values():
        app.dependency_overrides.update(fault.overrides)


@contextmanager
def installed(*names: str) -> Iterator[tuple[Fault, ...]]:
    """The named faults' code in place for the ``with`` block only (tests that run app code in-process)."""
    chosen = tuple(REGISTRY[name] for name in names)
    check_disjoint(chosen)
    undo = [put_back for fault in chosen for put_back in _swap(fault)]
    _installed.update({fault.name: fault for fault in chosen})
    try:
        yield chosen
    finally:
        for put_back in reversed(undo):
            put_back()
        for fault in chosen:
            _installed.pop(fault.name, None)


# ---------------------------------------------------------------------------------------- documentation
def table(faults: Iterable[Fault] | None = None) -> str:
    """The Markdown table of ``FAULTS.md`` (a test keeps the file in step with the registry)."""
    rows = [
        "| fault | layer | what a real team got wrong | layer below switched off | control that should catch it "
        "| code |",
        "|---|---|---|---|---|---|",
    ]
    for fault in faults if faults is not None else REGISTRY.values():
        rows.append(
            f"| `{fault.name}` | {fault.layer} | {fault.summary} | {fault.below} | `{fault.control}` | {fault.code} |"
        )
    return "\n".join(rows)


def by_control() -> Mapping[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for fault in REGISTRY.values():
        grouped.setdefault(fault.control, []).append(fault.name)
    return {control: tuple(names) for control, names in grouped.items()}
