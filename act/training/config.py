"""Structured configs for `act-train`, registered with Hydra's ConfigStore.

``ACTConfig`` (act.policy), ``OptimConfig`` and ``DataConfig`` are the single source of truth for
their config groups: a misspelt key or a wrongly typed value fails at composition, before any work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from act.policy import ACTConfig

# data.text_random_tasks: which tasks' stream episodes may draw random strings.
TEXT_RANDOM_TASKS = ("all", "typing")


class TrainConfigError(ValueError):
    """A config value `act-train` refuses before any work; the message starts with its dotted key."""


def _require(ok: bool, key: str, value: Any, want: str) -> None:
    if not ok:
        raise TrainConfigError(f"{key}: {value!r} {want}")


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass
class OptimConfig:
    """AdamW with its own backbone learning rate; linear warm-up, then cosine decay to min_lr_ratio * lr."""

    lr: float = 1e-3
    backbone_lr: float = 1e-3
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05

    def __post_init__(self) -> None:
        _require(_finite(self.lr) and self.lr > 0, "optim.lr", self.lr, "must be a finite number > 0")
        _require(
            _finite(self.backbone_lr) and self.backbone_lr >= 0,
            "optim.backbone_lr",
            self.backbone_lr,
            "must be a finite number >= 0",
        )
        _require(
            _finite(self.weight_decay) and self.weight_decay >= 0,
            "optim.weight_decay",
            self.weight_decay,
            "must be a finite number >= 0",
        )
        betas = list(self.betas)
        _require(
            len(betas) == 2 and all(_finite(b) and 0 <= b < 1 for b in betas),
            "optim.betas",
            betas,
            "must be two numbers in [0, 1)",
        )
        _require(self.warmup_steps >= 0, "optim.warmup_steps", self.warmup_steps, "must be >= 0")
        _require(
            _finite(self.min_lr_ratio) and 0 <= self.min_lr_ratio <= 1,
            "optim.min_lr_ratio",
            self.min_lr_ratio,
            "must be in [0, 1]",
        )


@dataclass
class GenerateConfig:
    """Demonstrations to generate when ``recordings`` is not given (see act.envs.generate)."""

    env: str = "synthui"
    tasks: list[str] = field(default_factory=lambda: ["ClickButton"])
    episodes: int = 40  # per task and per entry of ``perturbations``
    perturbations: list[str] = field(default_factory=lambda: [""])  # specs; "" = nominal
    seed: int = 0
    num_workers: int | None = None
    # synthui, recordings and the online stream alike: how varied the expert's demonstrations are,
    # 0 (expert-like) to 1 (pauses, a wandering pointer, more slips, freer orders: act.envs.synthui.expert)
    variety: float = 0.0

    def __post_init__(self) -> None:
        _require(self.episodes >= 1, "data.generate.episodes", self.episodes, "must be >= 1")
        _require(0.0 <= self.variety <= 1.0, "data.generate.variety", self.variety, "must be in [0, 1]")
        _require(self.seed >= 0, "data.generate.seed", self.seed, "must be >= 0")
        _require(
            self.num_workers is None or self.num_workers >= 1,
            "data.generate.num_workers",
            self.num_workers,
            "must be >= 1 or null (one per core)",
        )
        _require(len(self.tasks) > 0, "data.generate.tasks", list(self.tasks), "names no task")
        _require(len(self.perturbations) > 0, "data.generate.perturbations", [], 'is empty ("" = nominal)')


@dataclass
class RandomiseConfig:
    """Online stream only: each episode's perturbation drawn at random (act.training.online.Randomise)
    instead of from ``generate.perturbations``, which still make the recorded validation split."""

    families: list[str] = field(default_factory=list)  # [] = off
    severity: tuple[float, float] = (0.25, 1.0)  # [lo, hi]: each family's severity, drawn uniformly
    nominal: float = 0.2  # probability that an episode is nominal
    compose: float = 0.25  # probability that a perturbed episode composes two distinct families

    def __post_init__(self) -> None:
        sev = list(self.severity)
        _require(
            len(sev) == 2 and all(_finite(v) for v in sev) and 0 <= sev[0] <= sev[1] <= 1,
            "data.randomise.severity",
            sev,
            "must be [lo, hi] with 0 <= lo <= hi <= 1",
        )
        for name in ("nominal", "compose"):
            v = getattr(self, name)
            _require(
                _finite(v) and 0 <= v <= 1, f"data.randomise.{name}", v, "is not a probability in [0, 1]"
            )
        families = list(self.families)
        if not families:
            return
        from act.envs.perturbations import FAMILIES  # only when on: act.envs is slow to import

        _require(
            all(f in FAMILIES for f in families) and len(set(families)) == len(families),
            "data.randomise.families",
            families,
            f"must name distinct perturbation families of {', '.join(FAMILIES)}",
        )
        _require(
            self.compose == 0 or len(families) >= 2,
            "data.randomise.compose",
            self.compose,
            "composes two families: list at least two in data.randomise.families, or set it to 0",
        )


@dataclass
class AugmentConfig:
    """Image-level augmentation of the training samples, the online stream's or the recorded episodes'
    (act.data.augment, as DrQ/RAD): the screen shifted and zoomed with every target moved to match,
    and its colours jittered. Validation samples are never augmented."""

    shift: float = 0.0  # up to this fraction of the image per axis, in whole pixels
    scale: float = 0.0  # zoom in [1 - scale, 1 + scale] about the centre
    jitter: float = 0.0  # brightness, contrast and saturation factors in [1 - jitter, 1 + jitter]
    p: float = 1.0  # share of samples augmented

    def __post_init__(self) -> None:
        for name, hi in (("shift", 0.5), ("scale", 0.5), ("jitter", 1.0)):
            v = getattr(self, name)
            _require(_finite(v) and 0 <= v < hi, f"data.augment.{name}", v, f"must be in [0, {hi})")
        _require(_finite(self.p) and 0 <= self.p <= 1, "data.augment.p", self.p, "is not a share in [0, 1]")

    @property
    def enabled(self) -> bool:
        return self.p > 0 and bool(self.shift or self.scale or self.jitter)


@dataclass
class StreamDaggerConfig:
    """Online stream only: DAgger inside the stream (act.training.online). A ``share`` of the streamed
    episodes is rolled out by a snapshot of the policy being trained, the expert's action running
    instead with probability ``beta`` at each step, and the careful expert labels every state
    reached; the snapshot is refreshed every ``every`` training steps (none before the first)."""

    share: float = 0.0  # 0 = off
    beta: float = 0.5
    every: int = 500

    def __post_init__(self) -> None:
        for name in ("share", "beta"):
            v = getattr(self, name)
            _require(_finite(v) and 0 <= v <= 1, f"data.dagger.{name}", v, "is not a probability in [0, 1]")
        _require(int(self.every) >= 1, "data.dagger.every", self.every, "must be >= 1 training steps")


@dataclass
class DataConfig:
    recordings: str | None = None
    generate: GenerateConfig | None = None
    dataset_dir: str | None = None
    batch_size: int = 32
    num_workers: int = 0
    val_fraction: float = 0.1
    num_proc: int = 1
    split_seed: int = 0
    # Train on fresh expert episodes rendered on the fly from ``generate``'s tasks and perturbations
    # (synthui only; act.training.online). The built dataset still gives vocabularies and validation.
    online: bool = False
    # Online stream only: move each episode's screens and actions by a random offset of up to this
    # fraction of the screen per axis, so the policy finds elements by look rather than by position.
    shift: float = 0.0
    # Online stream only: the share of episodes that shift moves (the others keep the layouts' positions).
    shift_share: float = 1.0
    # Online stream only: how often each task is drawn, one weight per task of generate.tasks as
    # resolved (groups such as "all" expanded, duplicates dropped); None = evenly.
    task_weights: list[float] | None = None
    # Online stream only: what an even draw evens out. 0: each task an equal share of *episodes*
    # (a one-click task then gives 1 sample for a typing task's ~15); 1: an equal share of training
    # *samples* (steps), each task drawn in inverse proportion to its expert's mean episode length;
    # between, shares of samples go as length ** (1 - task_balance). task_weights multiply either.
    task_balance: float = 0.0
    # Online stream only: perturbations drawn at random per episode (families, severities,
    # compositions of two); off while randomise.families is empty.
    randomise: RandomiseConfig = field(default_factory=RandomiseConfig)
    # Shifts, zooms and colour jitter of each training sample (streamed or recorded); off at the defaults.
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # Online stream only: the share of episodes whose strings (labels, queries, names, file names)
    # are random letters (synthui's "random" text split) instead of the train lists, so a policy
    # learns to read and copy characters rather than memorise words. Test suites use the test lists.
    text_random: float = 0.0
    # Which tasks' episodes that share draws from: "all", or "typing" (the tasks that type a string:
    # queries, names, passwords, file names), so labels the policy reads stay words it can learn.
    text_random_tasks: str = "all"
    # Online stream only: DAgger in the stream (the policy in training rolls out, the expert labels).
    dagger: StreamDaggerConfig = field(default_factory=StreamDaggerConfig)

    def __post_init__(self) -> None:
        _require(self.batch_size >= 1, "data.batch_size", self.batch_size, "must be >= 1")
        _require(self.num_workers >= 0, "data.num_workers", self.num_workers, "must be >= 0")
        _require(
            _finite(self.val_fraction) and 0 <= self.val_fraction < 1,
            "data.val_fraction",
            self.val_fraction,
            "is not a share of episodes in [0, 1) (0: no validation)",
        )
        _require(self.num_proc >= 1, "data.num_proc", self.num_proc, "must be >= 1")
        _require(self.split_seed >= 0, "data.split_seed", self.split_seed, "must be >= 0")
        _require(
            _finite(self.text_random) and 0 <= self.text_random <= 1,
            "data.text_random",
            self.text_random,
            "is not a share of episodes in [0, 1]",
        )
        _require(
            _finite(self.task_balance) and 0 <= self.task_balance <= 1,
            "data.task_balance",
            self.task_balance,
            "is not in [0, 1] (0: equal episodes per task, 1: equal samples)",
        )
        _require(
            self.text_random_tasks in TEXT_RANDOM_TASKS,
            "data.text_random_tasks",
            self.text_random_tasks,
            f"is not one of {TEXT_RANDOM_TASKS}",
        )
        if not (_finite(self.shift) and 0.0 <= self.shift < 0.5):
            raise TrainConfigError(f"data.shift: {self.shift} is not a fraction of the screen in [0, 0.5)")
        if not (_finite(self.shift_share) and 0.0 <= self.shift_share <= 1.0):
            raise TrainConfigError(
                f"data.shift_share: {self.shift_share} is not a share of episodes in [0, 1]"
            )
        if self.shift and not self.online:
            raise TrainConfigError(
                "data.shift: moves the online stream's episodes; set data.online: true or shift 0"
            )
        if self.task_balance and not self.online:
            raise TrainConfigError(
                "data.task_balance: weighs the online stream's task draws; "
                "set data.online: true or task_balance 0"
            )
        if self.text_random and not self.online:
            raise TrainConfigError(
                "data.text_random: draws the online stream's strings; set data.online: true or text_random 0"
            )
        if self.shift_share != 1.0 and not self.shift:
            raise TrainConfigError(
                f"data.shift_share: {self.shift_share} shares out no shift (data.shift is 0)"
            )
        if self.randomise.families and not self.online:
            raise TrainConfigError(
                "data.randomise.families: draws the online stream's perturbations; set data.online: true"
            )
        if self.dagger.share and not self.online:
            raise TrainConfigError(
                "data.dagger.share: rolls the policy out in the online stream; set data.online: true "
                "(act-dagger runs DAgger over recorded episodes)"
            )
        if self.dagger.share and self.num_workers:
            raise TrainConfigError(
                "data.dagger.share: the stream rolls out a snapshot of the policy held in the training "
                "process, which DataLoader workers do not see; "
                f"set data.num_workers: 0 (is {self.num_workers})"
            )


BETA_SCHEDULES = ("exponential", "linear")


@dataclass
class DaggerConfig:
    """`act-dagger`'s rounds (act.training.dagger): roll the last policy out, label with the expert, retrain.

    beta_i is the chance that round i's env executes the expert's action instead of the policy's
    (round 0, the demonstrations, is the expert's alone): ``exponential`` beta_decay ** i,
    ``linear`` 1 - i / rounds; ``betas`` (one per round 1..rounds) overrides the schedule.
    """

    rounds: int = 3
    episodes_per_task: int = 10  # rolled out per task and round
    beta_schedule: str = "exponential"
    beta_decay: float = 0.5
    betas: list[float] | None = None
    retrain_steps: int | None = None  # trainer.max_steps of rounds 1..rounds; None: trainer.max_steps
    tasks: list[str] | None = None  # None: the demonstrations' tasks
    perturbations: list[str] | None = None  # specs, cycled over episodes; None: the demonstrations'
    # Episode k of round i has seed seed + 10_000 i + k: apart from generated demonstrations' seeds
    # (from data.generate.seed, 100_000 apart per perturbation) and closed-loop validation's (100_000).
    seed: int = 500_000
    max_steps: int | None = None  # per episode; None: the env's own limit

    def __post_init__(self) -> None:
        _require(self.rounds >= 1, "dagger.rounds", self.rounds, "must be >= 1")
        _require(
            1 <= self.episodes_per_task < 10_000,
            "dagger.episodes_per_task",
            self.episodes_per_task,
            "must be in [1, 10000)",
        )
        _require(
            self.beta_schedule in BETA_SCHEDULES,
            "dagger.beta_schedule",
            self.beta_schedule,
            f"is not one of {', '.join(BETA_SCHEDULES)}",
        )
        _require(
            _finite(self.beta_decay) and 0 <= self.beta_decay <= 1,
            "dagger.beta_decay",
            self.beta_decay,
            "must be in [0, 1]",
        )
        if self.betas is not None:
            betas = list(self.betas)
            _require(
                len(betas) == self.rounds and all(_finite(b) and 0 <= b <= 1 for b in betas),
                "dagger.betas",
                betas,
                f"must be {self.rounds} value(s) in [0, 1], one per round 1..dagger.rounds",
            )
        _require(
            self.retrain_steps is None or self.retrain_steps >= 1,
            "dagger.retrain_steps",
            self.retrain_steps,
            "must be >= 1 or null (trainer.max_steps)",
        )
        _require(self.seed >= 0, "dagger.seed", self.seed, "must be >= 0")
        _require(
            self.max_steps is None or self.max_steps >= 1,
            "dagger.max_steps",
            self.max_steps,
            "must be >= 1 or null (the env's limit)",
        )
        _require(self.tasks is None or len(self.tasks) > 0, "dagger.tasks", self.tasks, "names no task")
        _require(
            self.perturbations is None or len(self.perturbations) > 0,
            "dagger.perturbations",
            self.perturbations,
            'is empty ("" = nominal; null: the demonstrations\' specs)',
        )


def register_configs() -> None:
    """Register the structured configs (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(group="policy", name="base_act", node=ACTConfig)
    cs.store(group="optim", name="base_optim", node=OptimConfig)
    cs.store(group="data", name="base_data", node=DataConfig)
    cs.store(group="dagger", name="base_dagger", node=DaggerConfig)
