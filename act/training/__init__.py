"""Training: the Lightning module, callbacks, structured configs, the online expert stream, ``train(cfg)``."""

from act.training.config import DataConfig, GenerateConfig, OptimConfig, register_configs
from act.training.module import ActLightningModule, NonFiniteLossError, fold_grad_clip
from act.training.train import prepare_dataset, train


def __getattr__(name: str):
    """``ExpertStream`` drives envs: load it (and them) on first use."""
    if name == "ExpertStream":
        from act.training.online import ExpertStream

        return ExpertStream
    raise AttributeError(f"module 'act.training' has no attribute {name!r}")


__all__ = [
    "ActLightningModule",
    "DataConfig",
    "ExpertStream",
    "GenerateConfig",
    "NonFiniteLossError",
    "OptimConfig",
    "fold_grad_clip",
    "prepare_dataset",
    "register_configs",
    "train",
]
