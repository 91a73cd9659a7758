"""`act-train`: a thin Hydra app around ``act.training.train``."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from act.training import register_configs
from act.training.train import format_summary, train

register_configs()


@hydra.main(config_path="../configs", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    metrics, objects = train(cfg)
    if objects["trainer"].global_rank == 0:
        print(format_summary(objects["summary"]))
    return metrics.get("val/loss")


if __name__ == "__main__":
    main()
