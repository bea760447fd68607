"""Kubernetes checks as result records: the isolation probe's shape, with the apiserver's answers as evidence.

A :class:`KubeProbe` belongs to one check (one pytest test). Each ``check``/``expect_*`` call
is one attempt for one control; :meth:`KubeProbe.finish`, which the plugin calls when the check
returns, writes one record per control and tenant pair and fails the test, naming the controls,
if any attempt failed.

Example::

    def test_tenant_cannot_read_foreign_secrets(kube_probe, kube_tenants):
        a, b = kube_tenants[:2]
        kube_probe.expect_denied("INFRA-RBAC-TENANT-SCOPE", a.admin, Access("list", "secrets", namespace=b.namespace),
                                 attacker=a.name, victim=b.name)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tenantprobe.controls import load_catalogue
from tenantprobe.kube.client.api import Access, KubeClient, KubeResponse
from tenantprobe.records import ResultRecord, ResultWriter, Status, now_iso

MAX_EVIDENCE = 5


@dataclass
class _Attempt:
    ok: bool
    summary: str
    evidence: list[dict[str, Any]]


@dataclass
class KubeProbe:
    """The attempts of one Kubernetes check, turned into result records by :meth:`finish`."""

    check_id: str
    writer: ResultWriter
    attempts: dict[tuple[str, str | None, str | None], list[_Attempt]] = field(
        default_factory=lambda: defaultdict(list)
    )
    not_assessed_reasons: dict[str, str] = field(default_factory=dict)
    started_at: str = field(default_factory=now_iso)

    def check(
        self,
        control_id: str,
        ok: bool,
        summary: str,
        evidence: Iterable[dict[str, Any]] = (),
        *,
        attacker: str | None = None,
        victim: str | None = None,
    ) -> bool:
        """Record one attempt; a failed one keeps its evidence. Returns ``ok``."""
        self.attempts[(control_id, attacker, victim)].append(_Attempt(ok, summary, [] if ok else list(evidence)))
        return ok

    def expect_denied(
        self, control_id: str, client: KubeClient, access: Access, *, attacker: str, victim: str | None = None
    ) -> bool:
        """The identity must not be allowed ``access`` (a SelfSubjectAccessReview)."""
        review = client.review(access)
        summary = f"{client.identity.user} may {access}" + (f" ({review.reason})" if review.reason else "")
        return self.check(
            control_id, not review.allowed, summary, [review.evidence()], attacker=attacker, victim=victim
        )

    def expect_allowed(self, control_id: str, client: KubeClient, access: Access, *, attacker: str) -> bool:
        """The identity must be allowed ``access``: what a tenant needs to run its own namespace."""
        review = client.review(access)
        summary = f"{client.identity.user} may not {access}, which a tenant needs"
        return self.check(control_id, review.allowed, summary, [review.evidence()], attacker=attacker)

    def expect_refused(
        self,
        control_id: str,
        response: KubeResponse,
        what: str,
        *,
        status: int | None = None,
        because: str | None = None,
        attacker: str | None = None,
        victim: str | None = None,
    ) -> bool:
        """The apiserver must have refused the request: a 4xx (exactly ``status`` when given), with
        ``because`` in its message when given."""
        refused = (
            400 <= response.status < 500
            and (status is None or response.status == status)
            and (because is None or because in response.message)
        )
        if refused:
            summary = what
        elif response.ok:
            summary = f"{what}: accepted ({response.status}) as {response.identity.user}"
        else:
            expected = " and ".join(
                part for part in (f"status {status}" if status else "", repr(because) if because else "") if part
            )
            summary = f"{what}: answered {response.status} {response.message[:300]!r}, expected {expected}"
        return self.check(control_id, refused, summary, [response.evidence()], attacker=attacker, victim=victim)

    def not_assessed(self, control_id: str, reason: str) -> None:
        self.not_assessed_reasons[control_id] = reason

    @property
    def unfinished(self) -> bool:
        """Whether :meth:`finish` has records left to write (the plugin calls it when the check returns)."""
        return bool(self.attempts or self.not_assessed_reasons)

    def finish(self) -> None:
        """Write one record per (control, pair) and fail the test on any failed attempt."""
        __tracebackhide__ = True
        catalogue = load_catalogue()
        failures = []
        for (control_id, attacker, victim), attempts in self.attempts.items():
            control = catalogue.get(control_id)
            failed = [attempt for attempt in attempts if not attempt.ok]
            self.writer.write(
                ResultRecord(
                    control_id=control_id,
                    check_id=self.check_id,
                    status=Status.FAIL if failed else Status.PASS,
                    severity=control.severity,
                    summary="; ".join(dict.fromkeys(a.summary for a in failed))[:2000] if failed else control.title,
                    measured={"attempts": len(attempts), "blocked": len(attempts) - len(failed)},
                    evidence=[item for attempt in failed[:MAX_EVIDENCE] for item in attempt.evidence],
                    pair={"attacker": attacker, "victim": victim} if attacker and victim else None,
                    started_at=self.started_at,
                )
            )
            failures += [f"[{control_id}] {attempt.summary}" for attempt in failed]
        for control_id, reason in self.not_assessed_reasons.items():
            self.writer.write(
                ResultRecord(
                    control_id=control_id,
                    check_id=self.check_id,
                    status=Status.NOT_ASSESSED,
                    severity=catalogue.get(control_id).severity,
                    reason=reason,
                    started_at=self.started_at,
                )
            )
        self.attempts.clear()
        self.not_assessed_reasons.clear()
        if failures:
            shown = "\n  ".join(failures[:20])
            more = f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""
            raise AssertionError(f"{len(failures)} finding(s):\n  {shown}{more}")
