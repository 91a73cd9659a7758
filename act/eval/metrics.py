"""Success statistics: Wilson intervals, robustness AUC over severity, drops against nominal."""

from __future__ import annotations

import math
from collections.abc import Sequence


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default); (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def robustness_auc(
    severities: Sequence[float], rates: Sequence[float], nominal: float | None = None
) -> float:
    """Area under success-vs-severity over [0, 1] (trapezoids), with the nominal rate at severity 0.

    1.0 means unaffected perfection; a policy that fails at any perturbation scores about nominal * 0.
    """
    points = sorted(zip(severities, rates))
    if nominal is not None and (not points or points[0][0] > 0):
        points = [(0.0, nominal), *points]
    if not points:
        return float("nan")
    if points[-1][0] < 1.0:
        points.append((1.0, points[-1][1]))
    if len(points) == 1:
        return points[0][1]
    area = sum((s1 - s0) * (r0 + r1) / 2 for (s0, r0), (s1, r1) in zip(points, points[1:]))
    return area / (points[-1][0] - points[0][0])
