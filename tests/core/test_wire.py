"""The harness's wire rules on real HTTP: only the profile's origins, bounded bodies, and what a crash proves.

The servers are the helpdesk test app (``tests/targets/helpdesk.py``) in one mode each, served on
loopback in this process, so a test can also see what a second origin (a decoy) received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tenantprobe.canaries import CanaryRegistry
from tenantprobe.errors import ProfileError
from tenantprobe.probe import Actor, Exchange, Probe, ProbeClient
from tenantprobe.profiles import load_profile
from tenantprobe.records import ResultWriter
from tenantprobe.wire import Scope, UnusableAnswer, WireFailure, fetch
from tests.targets.helpdesk import GIANT_BODY_BYTES, Helpdesk
from tests.targets.serve import serving

OWNER = Actor("acme:owner", token="acme-owner-token")
CAP = 64 * 1024


@pytest.fixture
def decoy() -> Iterator[tuple[Helpdesk, str]]:
    app = Helpdesk("secure")
    with serving(app.app) as url:
        yield app, url


def test_scope_is_the_profile_origins_with_default_ports() -> None:
    scope = Scope("http://127.0.0.1:8000", "https://login.example/token")
    assert scope.allows("http://127.0.0.1:8000/api/x")
    assert scope.allows("https://login.example:443/other")
    assert not scope.allows("http://127.0.0.1:8001/api/x")
    assert not scope.allows("http://login.example/token")  # another scheme is another origin
    assert not scope.allows("not a url")


def test_body_over_the_cap_is_cut_and_named_not_read_whole() -> None:
    with serving(Helpdesk("giant_bodies").app) as url:
        client = ProbeClient(url, 10.0, max_body_bytes=CAP)
        answer = client.send(OWNER, "GET", "/api/tickets")
        client.close()
    assert answer.status == 0
    assert answer.failure is not None
    assert answer.failure.kind == "too_large"
    assert len(answer.text) == CAP < GIANT_BODY_BYTES  # what was read is kept for the canary oracle
    assert answer.unreadable is not None
    assert f"{CAP}-byte cap" in answer.unreadable


def test_declared_length_over_the_cap_is_refused_before_reading() -> None:
    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(str(request.url))
        return httpx.Response(200, headers={"content-length": str(10 * CAP)}, content=b"x" * (10 * CAP))

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        request = client.build_request("GET", "http://t.example/big")
        with pytest.raises(UnusableAnswer, match=f"declared {10 * CAP} bytes") as raised:
            fetch(client, request, Scope("http://t.example"), max_bytes=CAP)
    assert raised.value.failure.kind == "too_large"
    assert served == ["http://t.example/big"]


def test_request_to_another_origin_is_never_sent(decoy: tuple[Helpdesk, str]) -> None:
    app, elsewhere = decoy
    with serving(Helpdesk("secure").app) as url:
        client = ProbeClient(url)
        answer = client.send(OWNER, "GET", f"{elsewhere}/api/tickets")
        client.close()
    assert answer.status == 0
    assert answer.failure is not None
    assert answer.failure.kind == "off_scope"
    assert "outside the profile's origins" in answer.outcome
    assert app.hits == []
    assert client.sent == 0


def test_redirect_to_another_origin_is_recorded_not_followed(decoy: tuple[Helpdesk, str]) -> None:
    app, elsewhere = decoy
    with serving(Helpdesk("offsite_redirect", offsite=elsewhere).app) as url:
        client = ProbeClient(url)
        answer = client.send(OWNER, "GET", "/api/tickets")
        client.close()
    assert answer.status == 302
    assert answer.failure is not None
    assert "redirected to another origin" in str(answer.failure)
    assert client.offsite_redirects == [f"{elsewhere}/api/tickets"]
    assert app.hits == []


def test_slow_drip_ends_at_the_deadline_not_per_chunk() -> None:
    """Each byte comes within the 0.5 s read timeout; only a deadline for the whole answer ends the drip."""
    with serving(Helpdesk("slow_drip").app) as url:
        client = ProbeClient(url, 0.5)
        answer = client.send(OWNER, "GET", "/api/tickets")
        client.close()
    assert answer.status == 0
    assert answer.failure is not None
    assert answer.failure.kind == "timeout"


# ---------------------------------------------------------------------- what Probe.judge makes of a crash
def exchange(status: int, failure: WireFailure | None = None, method: str = "GET") -> Exchange:
    body = json.dumps({"id": "x"}) if 200 <= status < 300 else ""
    headers = {"content-type": "application/json"}
    return Exchange(OWNER, method, "http://t/api/tickets/x", {}, None, status, headers, body, 1.0, failure)


RESET = WireFailure("reset", "connection reset or closed without an answer")
TIMEOUT = WireFailure("timeout", "timed out")


@pytest.mark.parametrize(
    ("attempt", "positive", "expected"),
    [
        (exchange(500), exchange(200), False),  # only the foreign id crashed it: a finding
        (exchange(0, RESET), exchange(200), False),
        (exchange(502), exchange(200), False),
        (exchange(503), exchange(200), None),  # unavailable: about load, not the object
        (exchange(0, TIMEOUT), exchange(200), None),
        (exchange(500), exchange(500), None),  # everything crashes: proves nothing
        (exchange(0, RESET), exchange(0, RESET), None),
        (exchange(404), exchange(200), True),
        (exchange(404), exchange(0, RESET), None),
    ],
)
def test_crash_is_a_finding_only_next_to_a_working_positive_control(
    attempt: Exchange, positive: Exchange, expected: bool | None, tmp_path: Path
) -> None:
    probe = Probe("t", ProbeClient("http://t"), CanaryRegistry(), ResultWriter(tmp_path, "t"))
    outcome = probe.judge("API-CROSS-TENANT-READ", attempt, positive=positive, leaked=attempt.ok, summary="s")
    assert outcome is expected


def test_read_that_answers_html_or_nothing_cannot_leak_or_block(tmp_path: Path) -> None:
    probe = Probe("t", ProbeClient("http://t"), CanaryRegistry(), ResultWriter(tmp_path, "t"))
    html = Exchange(OWNER, "GET", "http://t/api/x", {}, None, 200, {"content-type": "text/html"}, "<html/>", 1.0)
    assert probe.judge("API-CROSS-TENANT-READ", html, positive=exchange(200), leaked=True, summary="s") is None
    empty = exchange(200)
    empty.text = ""
    assert probe.judge("API-CROSS-TENANT-READ", exchange(404), positive=empty, leaked=False, summary="s") is None
    write = exchange(200, method="PUT")
    write.text = ""  # a write may answer 2xx without a body
    assert write.unreadable is None


# ---------------------------------------------------------------------- files named by a profile
def test_profile_over_the_size_cap_is_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "target.yaml"
    path.write_text("name: big\n" + "# padding\n" * 200_000)
    with pytest.raises(ProfileError, match="larger than 1048576 bytes"):
        load_profile(path)


def test_profile_yaml_never_runs_code(tmp_path: Path) -> None:
    path = tmp_path / "target.yaml"
    path.write_text("name: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(path)
    assert not (tmp_path / "pwned").exists()
