"""Canaries: unique markers in every tenant's seeded data.

If anything a tenant receives contains another tenant's canary, that is a leak, whatever
path it took (a body, a header, an error, an export, a cached response). Canaries are made
of word characters only, so they fit most string constraints and full-text tokenizers.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

PREFIX = "tpcanary"
_PATTERN = re.compile(rf"{PREFIX}[0-9a-f]{{6}}x[0-9a-f]{{10}}")


def new_canary(tenant_key: str) -> str:
    """A fresh canary bound to a tenant: ``tpcanary<tenant hash>x<random>``."""
    return f"{PREFIX}{tenant_key}x{secrets.token_hex(5)}"


def tenant_key(slug: str) -> str:
    """Six hex digits that identify a tenant inside its canaries."""
    import hashlib

    return hashlib.sha256(slug.encode()).hexdigest()[:6]


@dataclass
class CanaryRegistry:
    """Which canary belongs to which tenant; scans text for canaries foreign to a viewer."""

    owners: dict[str, str] = field(default_factory=dict)  # canary -> tenant slug
    # Identifiers the harness saw a tenant create: value -> {owner slug: the URL paths it lives under}.
    ids: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))
    credentials: dict[str, str] = field(default_factory=dict)  # a tenant's token or key -> its slug
    # Other tenants' ids and canaries a tenant wrote into its own objects (a write the target accepted):
    # reading them back tells it nothing new. The write itself is what the reference checks judge.
    planted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # viewer -> values

    def issue(self, slug: str) -> str:
        canary = new_canary(tenant_key(slug))
        self.owners[canary] = slug
        return canary

    def of(self, slug: str) -> list[str]:
        return [canary for canary, owner in self.owners.items() if owner == slug]

    def foreign(self, text: str, viewer: str | None) -> dict[str, str]:
        """Canaries in ``text`` that belong to a tenant other than ``viewer`` (canary → owner)."""
        return {
            found: owner
            for found in set(_PATTERN.findall(text))
            if (owner := self.owners.get(found)) is not None
            and owner != viewer
            and (viewer is None or found not in self.planted.get(viewer, ()))
        }

    def remember_id(self, value: str, slug: str, *paths: str) -> None:
        """``value`` names an object (or the tenant) of ``slug``, served under ``paths`` (``/notes/{id}``)."""
        self.ids[value].setdefault(slug, set()).update(paths)

    def plant(self, values: list[str], viewer: str) -> None:
        """``viewer`` wrote ``values`` (other tenants' ids or canaries) into an object of its own: they are
        known to it from now on (a uniqueness probe that reuses another tenant's name, a body naming its ids)."""
        self.planted[viewer].update(value for value in values if self.ids.get(value) or value in self.owners)

    def within(self, text: str) -> list[str]:
        """Every canary in ``text``, whoever it belongs to."""
        return [found for found in _PATTERN.findall(text) if found in self.owners]

    def remember_credential(self, secret: str, slug: str) -> None:
        if len(secret) >= MIN_CREDENTIAL_CHARS:
            self.credentials.setdefault(secret, slug)

    def foreign_ids(self, references: list[tuple[str, str]], viewer: str | None, path: str) -> dict[str, str]:
        """Which of ``references`` (``(field path, value)``) name another tenant's object (field path → owner).

        An id long enough to be distinctive (a UUID, a slug with a random part) counts in any id-bearing
        field. A short one (``7``) counts only under the URL path its object lives under, in a field
        named ``id`` or after its kind: ``7`` in a ticket list may be anyone's comment.
        """
        found = {}
        for field_path, value in references:
            owners = self.ids.get(value, {})
            if not owners or viewer in owners or (viewer is not None and value in self.planted.get(viewer, ())):
                continue
            for owner, where in owners.items():
                if len(value) >= DISTINCTIVE_ID_CHARS or any(_under(path, template) for template in where):
                    found[field_path] = owner
        return found

    def foreign_credentials(self, text: str, viewer: str | None) -> dict[str, int]:
        """Credentials of tenants other than ``viewer`` that appear in ``text`` (never the value: owner → count)."""
        counts: dict[str, int] = defaultdict(int)
        for secret, owner in self.credentials.items():
            if owner != viewer and secret in text:
                counts[owner] += 1
        return dict(counts)


MIN_CREDENTIAL_CHARS = 12
DISTINCTIVE_ID_CHARS = 8


def _under(path: str, template: str) -> bool:
    """``/api/tickets/7`` is under ``/api/tickets/{ticket_id}`` and under ``/api/tickets``."""
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template.rstrip("/")))
    return re.fullmatch(pattern + "(?:/[^/]+)?/?", path) is not None
