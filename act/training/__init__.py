"""Training: the Lightning module, callbacks, structured configs and ``train(cfg)``."""

from act.training.config import DataConfig, GenerateConfig, OptimConfig, register_configs
from act.training.module import ActLightningModule, NonFiniteLossError, fold_grad_clip
from act.training.train import prepare_dataset, train

__all__ = [
    "ActLightningModule",
    "DataConfig",
    "GenerateConfig",
    "NonFiniteLossError",
    "OptimConfig",
    "fold_grad_clip",
    "prepare_dataset",
    "register_configs",
    "train",
]
