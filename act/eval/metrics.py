"""Success statistics: Wilson intervals, robustness AUC over severity, drops against nominal, and
success over several training seeds (mean, spread, pooled interval)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


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


def spread(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, sample standard deviation (None for one value), min and max of per-seed values."""
    vals = [float(v) for v in values]
    if not vals:
        return {"mean": None, "std": None, "min": None, "max": None}
    mean = sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else None
    return {"mean": mean, "std": std, "min": min(vals), "max": max(vals)}


def over_seeds(counts: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """Success over training seeds from each seed's (successes, episodes): the per-seed rates, their
    mean and spread (``spread``), and a Wilson 95% interval over the pooled episodes."""
    rates = [k / n if n else 0.0 for k, n in counts]
    k, n = sum(c[0] for c in counts), sum(c[1] for c in counts)
    return {
        "seeds": len(counts),
        "per_seed": rates,
        **spread(rates),
        "successes": k,
        "n": n,
        "pooled": k / n if n else None,
        "ci95": list(wilson_interval(k, n)),
    }
