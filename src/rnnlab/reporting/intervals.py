"""Means over seeds with a 95% confidence interval (Student's t), as a paper reports them.

mean, half, n = interval([0.95, 0.96, 0.97])   # 0.96, 0.0248, 3: the interval is mean ± half
"""

from __future__ import annotations

import math
import statistics

# Student's t at 0.975 (two-sided 95%) by degrees of freedom; beyond the table the value is within 0.5% of 1.96 + a
# 2.4/df correction, which the last rows follow.
T975 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    11: 2.201,
    12: 2.179,
    13: 2.160,
    14: 2.145,
    15: 2.131,
    16: 2.120,
    17: 2.110,
    18: 2.101,
    19: 2.093,
    20: 2.086,
    25: 2.060,
    30: 2.042,
    40: 2.021,
    60: 2.000,
    120: 1.980,
}


def t975(df: int) -> float:
    if df in T975:
        return T975[df]
    below = max(d for d in T975 if d < df) if df < 120 else 120
    return T975[below] if df < 120 else 1.96 + 2.4 / df


def interval(values: list[float]) -> tuple[float, float | None, int]:
    """(mean, half-width of the 95% interval or None for one value, n) of the finite values."""
    finite = [v for v in values if math.isfinite(v)]
    n = len(finite)
    if n == 0:
        return math.nan, None, 0
    mean = statistics.fmean(finite)
    if n == 1:
        return mean, None, 1
    return mean, t975(n - 1) * statistics.stdev(finite) / math.sqrt(n), n
