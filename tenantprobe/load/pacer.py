"""Poisson arrivals on an intended timeline: how a tenant user offers load without hiding a slow target.

Example::

    pacer = Pacer(rate=10.0, rng=random.Random(1), start=time.time())
    intended = pacer.take()   # when this request should have been sent
    gevent.sleep(pacer.delay())
"""

from __future__ import annotations

import random
import time


class Pacer:
    """A Poisson arrival schedule: exponential gaps at ``rate`` per second, kept on an intended timeline.

    The next arrival is drawn from the previous *intended* time, not from when the last
    request finished, so a slow target makes the user fall behind (offered > achieved)
    instead of silently offering less. ``rate == 0`` means unpaced: as fast as possible.
    """

    def __init__(self, rate: float, rng: random.Random, start: float) -> None:
        self.rate = rate
        self.rng = rng
        self.next = start
        self.taken = False

    def take(self) -> float:
        """The intended time of the arrival being served now."""
        self.taken = True
        return self.next if self.rate > 0 else time.time()

    def delay(self) -> float:
        if self.rate <= 0:
            return 0.0
        self.next += self.rng.expovariate(self.rate)
        self.taken = False
        return max(0.0, self.next - time.time())

    def pending(self, end: float) -> list[float]:
        """Arrivals already due by ``end`` that no request served (the user was behind)."""
        if self.rate <= 0:
            return []
        due, moment = [], self.next
        if self.taken:
            moment += self.rng.expovariate(self.rate)
        while moment <= end:
            due.append(moment)
            moment += self.rng.expovariate(self.rate)
        return due
