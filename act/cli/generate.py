"""`act-generate`: scripted-expert demonstrations as format-v1 recordings (a thin Hydra app)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from act.envs.generate import format_summary, run_generate


@hydra.main(config_path="../configs", config_name="generate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    e = cfg.env
    summary = run_generate(
        env=e.env,
        tasks=list(e.tasks),
        episodes=e.episodes,
        perturbation=e.perturbation,
        seed=e.seed,
        out_dir=cfg.out_dir,
        num_workers=e.num_workers,
        contact_sheet=cfg.contact_sheet,
        progress=cfg.progress,
    )
    print(format_summary(summary))


if __name__ == "__main__":
    main()
