"""What an HTTP status proves about isolation, and the pytest outcome of a check that proved nothing.

A refusal proves isolation only next to a positive control: the same request on the attacker's
own object succeeded, so the only difference the target reacted to is whose object it was.
Even then some answers are not refusals at all: a rate limiter (429), a crash (5xx) or a
redirect (3xx) says nothing about tenancy, and such attempts stay inconclusive.
"""

from __future__ import annotations

from _pytest.outcomes import Skipped

# After a successful positive control these answers mean "the target refused this object":
# 400/422 included, since the same body was accepted for the attacker's own object.
REFUSALS = frozenset({400, 401, 403, 404, 405, 409, 410, 422})

_KINDS = {
    400: "request rejected",
    401: "not authenticated",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    410: "gone",
    413: "body too large",
    422: "body rejected",
    429: "rate limited",
}


def describe(status: int) -> str:
    """A few words for a status, as shown in reasons: ``422 (body rejected)``."""
    if status == 0:
        kind = "no answer: connection failed"
    elif status in _KINDS:
        kind = _KINDS[status]
    elif 200 <= status < 300:
        kind = "accepted"
    elif 300 <= status < 400:
        kind = "redirected"
    elif status >= 500:
        kind = "server error"
    else:
        kind = "unexpected status"
    return f"{status} ({kind})"


def is_refusal(status: int) -> bool:
    return status in REFUSALS


class NotAssessed(Skipped):
    """Raised by ``Probe.finish`` when a check judged nothing for a control it declares.

    pytest shows the test as SKIPPED with the reason; the probe has already written the
    ``not_assessed`` records, so the plugin does not write them again.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, pytrace=False)
