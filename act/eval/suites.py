"""Robustness suites: which tasks, which perturbation conditions, how many seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from act.envs.perturbations import FAMILIES, format_spec, parse_spec

SEVERITIES = (0.25, 0.5, 0.75, 1.0)
SUITE_DIR = Path(__file__).resolve().parents[1] / "configs" / "eval"


@dataclass(frozen=True)
class Condition:
    """One perturbation setting: nominal, one family at one severity, or a composition."""

    name: str
    perturbation: str = ""
    family: str | None = None
    severity: float | None = None


@dataclass
class Suite:
    """Every condition runs the same seeds of every task, so policies are compared on paired episodes.

    ``heldout_families`` / ``heldout_tasks`` name what the training experiment excluded; the report
    marks them.
    """

    name: str = "nominal"
    env: str = "synthui"
    tasks: list[str] = field(default_factory=lambda: ["ClickButton"])
    episodes: int = 20
    nominal: bool = True
    families: list[str] = field(default_factory=list)
    severities: list[float] = field(default_factory=lambda: list(SEVERITIES))
    compositions: list[str] = field(default_factory=list)
    heldout_families: list[str] = field(default_factory=list)
    heldout_tasks: list[str] = field(default_factory=list)
    seed: int = 1000
    max_steps: int | None = None

    def __post_init__(self) -> None:
        unknown = [f for f in [*self.families, *self.heldout_families] if f not in FAMILIES]
        if unknown:
            raise ValueError(
                f"suite {self.name!r}: unknown perturbation families {unknown}; known: {sorted(FAMILIES)}"
            )
        for s in self.severities:
            if not 0 <= s <= 1:
                raise ValueError(f"suite {self.name!r}: severity {s} is outside [0, 1]")
        for c in self.compositions:
            parse_spec(c)  # raises naming the bad family or severity
        if self.episodes < 1:
            raise ValueError(f"suite {self.name!r}: episodes must be >= 1")

    def conditions(self) -> list[Condition]:
        out = [Condition("nominal")] if self.nominal else []
        for family in self.families:
            for s in self.severities:
                out.append(Condition(f"{family}:{s:g}", f"{family}:{s:g}", family, float(s)))
        for c in self.compositions:
            spec = format_spec(parse_spec(c))
            out.append(Condition(spec, spec))
        return out

    def env_ids(self) -> list[str]:
        return [t if "/" in t else f"{self.env}/{t}-v0" for t in self.tasks]

    def seeds(self) -> list[int]:
        return list(range(self.seed, self.seed + self.episodes))


def load_suite(name: str, overrides: list[str]) -> Suite:
    """A suite from act/configs/eval/suite/<name>.yaml (with its defaults), plus key=value overrides."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(SUITE_DIR), version_base="1.3"):
        cfg = compose("eval", overrides=[f"suite={name}", *[f"suite.{o}" for o in overrides]])
    return suite_from_config(cfg.suite)


def suite_from_config(section: Any) -> Suite:
    """A ``Suite`` from a composed ``suite`` config section (act-eval's, act-bench's and act-demo's)."""
    from omegaconf import OmegaConf

    return Suite(**OmegaConf.to_container(section, resolve=True))
