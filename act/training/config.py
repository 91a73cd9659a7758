"""Structured configs for `act-train`, registered with Hydra's ConfigStore.

``ACTConfig`` (act.policy), ``OptimConfig`` and ``DataConfig`` are the single source of truth for
their config groups: a misspelt key or a wrongly typed value fails at composition, before any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from act.policy import ACTConfig


@dataclass
class OptimConfig:
    """AdamW with its own backbone learning rate; linear warm-up, then cosine decay to min_lr_ratio * lr."""

    lr: float = 1e-3
    backbone_lr: float = 1e-3
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05


@dataclass
class GenerateConfig:
    """Demonstrations to generate when ``recordings`` is not given (see act.envs.generate)."""

    env: str = "synthui"
    tasks: list[str] = field(default_factory=lambda: ["ClickButton"])
    episodes: int = 40  # per task and per entry of ``perturbations``
    perturbations: list[str] = field(default_factory=lambda: [""])  # specs; "" = nominal
    seed: int = 0
    num_workers: int | None = None


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


def register_configs() -> None:
    """Register the structured configs (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(group="policy", name="base_act", node=ACTConfig)
    cs.store(group="optim", name="base_optim", node=OptimConfig)
    cs.store(group="data", name="base_data", node=DataConfig)
