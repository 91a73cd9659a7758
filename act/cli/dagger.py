"""`act-dagger`: a thin Hydra app around ``act.training.dagger`` (act-train's config plus a ``dagger``
section: act/configs/dagger.yaml). A refused setting prints one line naming its key and exits 2,
before any training."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from act.data import DatasetError
from act.eval.io_checks import NotWritableError
from act.training import register_configs
from act.training.config import TrainConfigError
from act.training.dagger import dagger, format_summary

register_configs()


@hydra.main(config_path="../configs", config_name="dagger", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        summary = dagger(cfg)
    except (TrainConfigError, NotWritableError, DatasetError) as e:  # before training: the message says why
        print(f"act-dagger: {e}", file=sys.stderr)
        sys.exit(2)
    print(format_summary(summary))


if __name__ == "__main__":
    main()
