"""Training: the Lightning module, callbacks, structured configs and ``train(cfg)``."""

from act.training.config import DataConfig, GenerateConfig, OptimConfig, register_configs
from act.training.module import ActLightningModule, NonFiniteLossError
from act.training.train import prepare_dataset, train

__all__ = [
    "ActLightningModule", "DataConfig", "GenerateConfig", "NonFiniteLossError", "OptimConfig",
    "prepare_dataset", "register_configs", "train",
]  # fmt: skip
