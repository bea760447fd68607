"""The folds of reports/_tally.py give what a pass over every record gives."""

from __future__ import annotations

import math
import random

from reports._tally import Peak


def test_peak_after_the_load_figures_is_max_of_both_nan_and_signed_zero_included() -> None:
    rng = random.Random(20)
    values = [math.nan, -0.0, 0.0, 1.5, -3.0, 1.5, 70.0]
    for _ in range(2000):
        before = [rng.choice(values) for _ in range(rng.randrange(3))]
        stream = [rng.choice(values) for _ in range(rng.randrange(5))]
        peak = Peak()
        for value in stream:
            peak.add(value)
        expected = max(before + stream) if before + stream else None
        assert repr(peak.after(before)) == repr(expected), (before, stream)
