"""`act-train`: a thin Hydra app around ``act.training.train``.

A refused setting (``optim.lr=-1``, ``policy.chunk_size=0``, an unwritable ``paths.output_dir``) or a
refused dataset folder prints one line naming its key or folder and exits 2, before any training;
Hydra's own composition errors exit 1.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from act.data import DatasetError
from act.eval.io_checks import NotWritableError
from act.training import register_configs
from act.training.config import TrainConfigError
from act.training.train import format_summary, train

register_configs()


@hydra.main(config_path="../configs", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    try:
        metrics, objects = train(cfg)
    except (TrainConfigError, NotWritableError, DatasetError) as e:  # before training: the message says why
        print(f"act-train: {e}", file=sys.stderr)
        sys.exit(2)
    if objects["trainer"].global_rank == 0:
        print(format_summary(objects["summary"]))
    return metrics.get("val/loss")


if __name__ == "__main__":
    main()
