"""Perturbation families, shared by the envs: a registry, spec parsing and construction.

A spec names families and severities: ``"theme:0.5,layout_shift:0.8"`` (a bare name means 1.0).
Each family is one module of this package defining ``Family`` (a ``Perturbation`` subclass); the
registry finds them, so adding a family is adding a module (and its test).
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Iterable, Mapping
from typing import Any

from act.envs.perturbations.base import Perturbation, family_rng

_NOT_FAMILIES = {"base", "common"}  # the base class and shared content


def _discover() -> dict[str, str]:
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return {n: f"{__name__}.{n}" for n in sorted(names) if n not in _NOT_FAMILIES}


FAMILIES: dict[str, str] = _discover()  # family name -> module
Spec = list[tuple[str, float]]


def family(name: str) -> type[Perturbation]:
    """The ``Perturbation`` class of family ``name``."""
    if name not in FAMILIES:
        raise ValueError(f"unknown perturbation family {name!r}; known families: {', '.join(FAMILIES)}")
    cls = importlib.import_module(FAMILIES[name]).Family
    if cls.name != name:
        raise TypeError(f"module {FAMILIES[name]} defines Family.name = {cls.name!r}, expected {name!r}")
    return cls


def _severity(name: str, value: Any) -> float:
    try:
        sev = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"perturbation {name!r}: severity {value!r} is not a number") from None
    if not (math.isfinite(sev) and 0.0 <= sev <= 1.0):
        raise ValueError(f"perturbation {name!r}: severity {value!r} is outside [0, 1]")
    return sev


def parse_spec(spec: str | Mapping[str, Any] | Iterable[Any] | None) -> Spec:
    """``"theme:0.5,layout_shift:0.8"`` (or a dict, or (name, severity) pairs) -> [(name, severity)].

    Raises ValueError naming the problem: an unknown family, a severity that is not a number in
    [0, 1], a family given twice.
    """
    if spec is None:
        return []
    if isinstance(spec, str):
        pairs: list[tuple[str, Any]] = []
        for part in spec.split(","):
            part = part.strip()
            if not part or part.lower() in ("none", "nominal"):
                continue
            name, sep, sev = part.partition(":")
            pairs.append((name.strip(), sev.strip() if sep else 1.0))
    elif isinstance(spec, Mapping):
        pairs = list(spec.items())
    else:
        pairs = []
        for p in spec:
            if isinstance(p, str):
                pairs += [(n, s) for n, s in parse_spec(p)]
            elif isinstance(p, Mapping):
                pairs.append((p["name"], p.get("severity", 1.0)))
            else:
                name, sev = p
                pairs.append((name, sev))
    out: Spec = []
    for name, sev in pairs:
        name = str(name).strip()
        family(name)  # raises for unknown names
        if any(n == name for n, _ in out):
            raise ValueError(f"perturbation family {name!r} is given twice")
        out.append((name, _severity(name, sev)))
    return out


def format_spec(spec: Spec) -> str:
    """[(name, severity)] -> ``"name:severity,..."`` (empty for nominal)."""
    return ",".join(f"{n}:{s:g}" for n, s in spec)


def build(spec: str | Spec | None, seed: int) -> list[Perturbation]:
    """The families of ``spec`` for the episode with ``seed``, in application order."""
    out = [family(n)(sev, family_rng(seed, n)) for n, sev in parse_spec(spec)]
    return sorted(out, key=lambda p: (p.order, p.name))


__all__ = ["FAMILIES", "Perturbation", "Spec", "build", "family", "family_rng", "format_spec", "parse_spec"]
