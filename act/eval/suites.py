"""Robustness suites and the evaluation protocol: which tasks, which perturbation conditions, which seeds.

The protocol: every suite has two disjoint seed ranges, ``validation_seeds`` (what any tuning may look
at) and ``test_seeds`` (what tables report); ``split`` chooses which one an evaluation runs. A policy
directory may hold ``training_data.json`` (written by act-train): what the policy was trained on, so
that reports mark each family and task seen or unseen and a suite's held-out families are enforced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from act.envs.perturbations import FAMILIES, format_spec, parse_spec
from act.envs.synthui.tasks.base import TEXT_SPLITS

SEVERITIES = (0.25, 0.5, 0.75, 1.0)
SUITE_DIR = Path(__file__).resolve().parents[1] / "configs" / "eval"
SPLITS = ("test", "validation")
TRAINING_DATA = "training_data.json"  # beside config.json in an exported policy directory


@dataclass(frozen=True)
class SeedRange:
    """The seeds ``start``, ``start + 1``, ..., ``start + count - 1``: [start, stop)."""

    start: int
    count: int

    @property
    def stop(self) -> int:
        return self.start + self.count

    def seeds(self) -> list[int]:
        return list(range(self.start, self.stop))

    def overlaps(self, other: SeedRange) -> bool:
        return self.start < other.stop and other.start < self.stop

    def to_json(self) -> dict[str, int]:
        return {"start": self.start, "count": self.count, "stop": self.stop}

    def __str__(self) -> str:
        return f"[{self.start}, {self.stop})"

    @classmethod
    def parse(cls, value: Any, where: str) -> SeedRange:
        """A SeedRange from {start, count}, {start, stop} or [start, stop); ValueError naming ``where``."""
        if isinstance(value, SeedRange):
            return value
        try:
            if isinstance(value, dict) or hasattr(value, "keys"):
                keys = set(value.keys())
                if keys - {"start", "count", "stop"} or "start" not in keys or not keys & {"count", "stop"}:
                    raise ValueError(f"keys {sorted(keys)}")
                start = int(value["start"])
                count = int(value["count"]) if "count" in keys else int(value["stop"]) - start
                if "count" in keys and "stop" in keys and start + count != int(value["stop"]):
                    raise ValueError(f"start + count = {start + count} is not stop = {value['stop']}")
            else:
                start, stop = (int(v) for v in value)
                count = stop - start
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"{where}: {value!r} is not a seed range ({e}): give {{start: S, count: N}} or [start, stop)"
            ) from None
        if start < 0 or count < 1:
            raise ValueError(f"{where}: {value!r} must start at a seed >= 0 and hold at least one seed")
        return cls(start, count)


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

    The seeds are ``test_seeds`` or ``validation_seeds`` (``split``); the two ranges never overlap.
    ``episodes``, when given, sets the count of the chosen split's range (afterwards it is that
    count). ``heldout_families`` / ``heldout_tasks`` name what the training experiment excluded: a
    policy whose training_data.json contains one is refused, and the report marks them.
    """

    name: str = "nominal"
    env: str = "synthui"
    tasks: list[str] = field(default_factory=lambda: ["ClickButton"])
    episodes: int | None = None
    nominal: bool = True
    families: list[str] = field(default_factory=list)
    severities: list[float] = field(default_factory=lambda: list(SEVERITIES))
    compositions: list[str] = field(default_factory=list)
    heldout_families: list[str] = field(default_factory=list)
    heldout_tasks: list[str] = field(default_factory=list)
    split: str = "test"
    # synthui's strings (act.envs.synthui.tasks.TEXT_SPLITS): None = "test" lists on test seeds and
    # "random" letters on validation seeds, so neither tables nor tuning see a string of training.
    text_split: str | None = None
    # Far from generation's seeds (0 upwards, +100_000 per perturbation spec), act-train's closed-loop
    # validation (100_000) and the online stream (10_000_000 upwards).
    validation_seeds: Any = SeedRange(5_000_000, 20)
    test_seeds: Any = SeedRange(1000, 20)
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
        if self.split not in SPLITS:
            raise ValueError(f"suite {self.name!r}: split {self.split!r} is not one of {list(SPLITS)}")
        if self.text_split is None:
            self.text_split = "test" if self.split == "test" else "random"
        if self.text_split not in TEXT_SPLITS:
            raise ValueError(
                f"suite {self.name!r}: text_split {self.text_split!r} is not one of {list(TEXT_SPLITS)}"
            )
        self.validation_seeds = SeedRange.parse(
            self.validation_seeds, f"suite {self.name!r}: validation_seeds"
        )
        self.test_seeds = SeedRange.parse(self.test_seeds, f"suite {self.name!r}: test_seeds")
        chosen = f"{self.split}_seeds"
        if self.episodes is not None:
            if self.episodes < 1:
                raise ValueError(f"suite {self.name!r}: episodes must be >= 1 (the count of {chosen})")
            setattr(self, chosen, SeedRange(getattr(self, chosen).start, int(self.episodes)))
        self.episodes = getattr(self, chosen).count
        if self.validation_seeds.overlaps(self.test_seeds):
            raise ValueError(
                f"suite {self.name!r}: validation_seeds {self.validation_seeds} and test_seeds "
                f"{self.test_seeds} overlap: tuning would see test episodes; move one range"
            )

    @property
    def seed_range(self) -> SeedRange:
        """The range of the chosen split."""
        return self.test_seeds if self.split == "test" else self.validation_seeds

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
        return self.seed_range.seeds()

    def to_json(self) -> dict[str, Any]:
        """Every field, the seed ranges as {start, count, stop}: what results.json records."""
        out = dict(vars(self))
        out["validation_seeds"] = self.validation_seeds.to_json()
        out["test_seeds"] = self.test_seeds.to_json()
        return out


def task_name(task: str) -> str:
    """``synthui/ClickButton-v0`` or ``ClickButton`` -> ``ClickButton``."""
    return task.split("/")[-1].rsplit("-v", 1)[0]


def load_training_data(policy_dir: str | Path | None) -> dict[str, Any] | None:
    """The policy's training_data.json, or None for a policy without one (trained before it existed).

    Raises ValueError naming the file when it is not a JSON object with ``tasks`` and ``perturbations``."""
    if not policy_dir:
        return None
    path = Path(policy_dir) / TRAINING_DATA
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: unreadable ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    for key in ("tasks", "perturbations"):
        if not isinstance(data.get(key), list):
            raise ValueError(f"{path}: {key!r} must be a list, got {data.get(key)!r}")
    return data


def _spec_families(spec: str | None) -> list[tuple[str, float]]:
    """(family, severity) pairs of a recorded spec; a family this checkout does not know still counts."""
    try:
        return parse_spec(spec or None)
    except ValueError:
        pairs = [part.strip().partition(":") for part in str(spec).split(",") if part.strip()]
        return [(name.strip(), float(sev) if sep else 1.0) for name, sep, sev in pairs]


def trained_families(training_data: dict[str, Any]) -> dict[str, list[float]]:
    """family -> the severities it had in the training data: its perturbation specs ("" = nominal) and,
    for an online stream that draws perturbations at random, the ends of the drawn severity range."""
    out: dict[str, set[float]] = {}
    for spec in training_data["perturbations"]:
        for name, severity in _spec_families(spec):
            out.setdefault(name, set()).add(severity)
    randomise = training_data.get("randomise") or {}
    for name in randomise.get("families") or []:
        out.setdefault(name, set()).update(float(v) for v in randomise.get("severity") or [0.0, 1.0])
    return {k: sorted(v) for k, v in sorted(out.items())}


def training_marks(training_data: dict[str, Any] | None, suite: Suite) -> dict[str, Any]:
    """Seen or unseen, for each of the suite's families, conditions and tasks, by ``training_data``.

    A condition is seen when every family in it was in the training data (at any severity); nominal
    when the training data had unperturbed episodes. Without training data everything is "unknown".
    """
    conditions = suite.conditions()
    if training_data is None:
        return {
            "training_data": None,
            "families": {f: "unknown" for f in suite.families},
            "conditions": {c.name: "unknown" for c in conditions},
            "tasks": {task_name(t): "unknown" for t in suite.tasks},
        }
    fams = trained_families(training_data)
    randomise = training_data.get("randomise") or {}
    nominal = any(not _spec_families(s) for s in training_data["perturbations"]) or bool(
        randomise.get("nominal")
    )
    tasks = {task_name(str(t)) for t in training_data["tasks"]}

    def seen(ok: bool) -> str:
        return "seen" if ok else "unseen"

    return {
        "training_data": training_data,
        "trained_families": fams,
        "randomised_families": list(randomise.get("families") or []),
        "families": {f: seen(f in fams) for f in suite.families},
        "conditions": {
            c.name: seen(
                nominal if not c.perturbation else all(n in fams for n, _ in parse_spec(c.perturbation))
            )
            for c in conditions
        },
        "tasks": {task_name(t): seen(task_name(t) in tasks) for t in suite.tasks},
    }


def heldout_violations(training_data: dict[str, Any] | None, suite: Suite) -> list[str]:
    """The suite's held-out families and tasks that ``training_data`` contains (none when unknown)."""
    if training_data is None:
        return []
    fams = trained_families(training_data)
    tasks = {task_name(str(t)) for t in training_data["tasks"]}
    return [f"family {f!r}" for f in suite.heldout_families if f in fams] + [
        f"task {t!r}" for t in suite.heldout_tasks if task_name(t) in tasks
    ]


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
