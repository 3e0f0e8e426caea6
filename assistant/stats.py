"""Summary statistics of measurements (latencies), one rule for every report: the evaluation's summary,
the benchmark and the load test.

Must not: import anything of the project; round or format (callers decide how many digits they show).
"""

from __future__ import annotations

from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """The value at rank floor(q·n) + 1 of the n sorted values (the largest for q = 1), q in [0, 1]; None
    for no values. p50 of 83 values is the 42nd smallest and p95 the 79th; p50 of 10 values is the 6th (of
    an even count, the upper of the two middle values). It is always one of the measured values."""
    xs = sorted(values)
    if not xs:
        return None
    return xs[min(len(xs) - 1, int(q * len(xs)))]
