"""The user classes a locustfile subclasses: each bound to one tenant (or onboarding new ones).

Importing this module also registers tenantprobe's locust options and event listeners
(:mod:`tenantprobe.load.listeners`), as locust-plugins does, so a locustfile needs only::

    from tenantprobe.load.users import TenantUser

    class SteadyTenant(TenantUser):
        scenario = "steady"
        role = "steady"
"""

from __future__ import annotations

import random
import time
from typing import Any, ClassVar
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, task

from tenantprobe.credentials import render
from tenantprobe.load import listeners  # noqa: F401 - registers the options and event listeners
from tenantprobe.load.pacer import Pacer
from tenantprobe.load.plan import Operation, fill, tenant_ref, token_source
from tenantprobe.load.state import QUOTA_STATUSES, STATE


class TenantUser(FastHttpUser):
    """A user bound to one tenant for its whole life, offering a Poisson stream of the workload's mix."""

    abstract = True
    role: ClassVar[str] = "steady"

    def user_rate(self) -> float:
        return float(STATE.setting("tenant_rps"))

    def on_start(self) -> None:
        self.tenant = STATE.claim(self.role)
        self.rng = random.Random()
        self.counter = 0
        self.auth = {"Authorization": f"Bearer {self.tenant.token}"}
        started = time.time()
        self.pacer = Pacer(self.user_rate(), self.rng, started)
        assert STATE.collector is not None
        STATE.collector.join(self.tenant.key, started, paced=self.pacer.rate > 0)
        STATE.pacers.append((self.tenant.key, self.pacer))

    def wait_time(self) -> float:
        return self.pacer.delay()

    @task
    def operate(self) -> None:
        assert STATE.collector is not None
        intended = self.pacer.take()
        STATE.collector.offer(self.tenant.key, intended)
        op = STATE.pick(self.rng, self.tenant)
        self.counter += 1
        path = fill(op.path, self.tenant, self.rng, self.counter)
        query = fill(op.query, self.tenant, self.rng, self.counter)
        if query:
            path += "?" + urlencode(query)
        body = fill(op.body, self.tenant, self.rng, self.counter) if op.body is not None else None
        with self.client.request(
            op.method,
            path,
            name=op.name,
            json=body,
            headers=self.auth,
            context={"tenant": self.tenant.key, "intended": intended},
            catch_response=True,
        ) as response:
            self.judge(response, op)

    def judge(self, response: Any, op: Operation) -> None:
        status = response.status_code or 0
        if status == 429:
            response.failure("429 Too Many Requests")
        elif op.method == "POST" and 200 <= status < 300 and len(self.tenant.ids) < 200:
            try:
                created = response.json()
            except ValueError:
                return
            if isinstance(created, dict) and isinstance(created.get("id"), str):
                self.tenant.ids.append(created["id"])


class FloodingUser(TenantUser):
    """Many of these share one tenant and send as fast as they can once the noisy phase begins.

    Their 429s are what a per-tenant limit should answer: counted apart, not failures.
    """

    abstract = True
    role: ClassVar[str] = "flooder"

    def user_rate(self) -> float:
        return 0.0

    def on_start(self) -> None:
        plan = STATE.wait_plan()
        noisy_at = plan["window_start"] + plan["phases"][-1]["offset"]
        gevent.sleep(max(0.0, noisy_at - time.time()))
        super().on_start()

    def judge(self, response: Any, op: Operation) -> None:
        status = response.status_code or 0
        if status == 429 or (status in QUOTA_STATUSES and "quota" in (response.text or "").lower()):
            response.success()  # counted apart (throttled or refused), not as a failure
        else:
            super().judge(response, op)


class BurstUser(TenantUser):
    abstract = True
    role: ClassVar[str] = "burst"

    def user_rate(self) -> float:
        return float(STATE.setting("burst_rps")) / max(int(STATE.setting("burst_users")), 1)


class OnboardingUser(FastHttpUser):
    """Provisions tenants one after another while the others load the target, and times each.

    Provisioning time is measured to the tenant's first successful request, the moment it is
    usable, not only to the platform API's answer.
    """

    abstract = True
    role: ClassVar[str] = "provisioner"

    def on_start(self) -> None:
        plan = STATE.wait_plan()
        self.template = plan["provisioning"]
        self.tokens = token_source(self.template, plan["base_url"])
        self.platform = {"Authorization": f"Bearer {self.template['platform_token']}"}
        self.done = 0
        self.run_id = plan["run_id"]

    def wait_time(self) -> float:
        return float(STATE.setting("provision_interval"))

    @task
    def onboard(self) -> None:
        if self.done >= int(STATE.setting("provision_count")):
            return
        self.done += 1
        slug = f"lt-onboard-{self.run_id}-w{STATE.worker_index}-{self.done:04d}"
        sample: dict[str, Any] = {"slug": slug, "status": "failed"}
        started = time.time()
        body = render(self.template["body"], {"slug": slug})
        with self.client.post(
            self.template["path"], json=body, headers=self.platform, name="provision", catch_response=True
        ) as response:
            if not 200 <= (response.status_code or 0) < 300:
                sample["error"] = f"provisioning answered {response.status_code}"
                STATE.provisioned.append(sample)
                return
            tenant_id = response.json().get(self.template["id_field"])
        sample["provision_s"] = round(time.time() - started, 6)
        token = self.tokens.token(tenant_ref(tenant_id, slug), self.template["writer_role"])
        first = next((op for op in STATE.operations if op.method == "GET" and not op.needs_id), None)
        path = first.path if first else "/"
        deadline = started + 300
        while time.time() < deadline:
            with self.client.get(
                path, headers={"Authorization": f"Bearer {token}"}, name="first-request", catch_response=True
            ) as response:
                if 200 <= (response.status_code or 0) < 300:
                    sample["ready_s"] = round(time.time() - started, 6)
                    sample["status"] = "ok"
                    break
                response.success()  # not ready yet is not a failure; not ready in 5 minutes is
            gevent.sleep(0.05)
        else:
            sample["error"] = "the new tenant's first request did not succeed within 300 s"
        STATE.provisioned.append(sample)
