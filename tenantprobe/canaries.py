"""Canaries: unique markers in every tenant's seeded data.

If anything a tenant receives contains another tenant's canary, that is a leak, whatever
path it took (a body, a header, an error, an export, a cached response). Canaries are made
of word characters only, so they fit most string constraints and full-text tokenizers.
"""

from __future__ import annotations

import re
import secrets
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
            if (owner := self.owners.get(found)) is not None and owner != viewer
        }
