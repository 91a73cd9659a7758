"""`act-generate`: scripted-expert demonstrations as format-v1 recordings (a thin Hydra app)."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from act.envs.generate import format_summary, run_generate
from act.envs.generation import OutDirError
from act.eval.io_checks import NotWritableError, ensure_writable


@hydra.main(config_path="../configs", config_name="generate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    e = cfg.env
    try:  # before the first episode, not after the last
        ensure_writable(cfg.out_dir, "out_dir")
    except NotWritableError as err:
        print(f"act-generate: {err}", file=sys.stderr)
        sys.exit(2)
    if e.env == "desktop":  # its expert's seeds must stay clear of what the desktop suite evaluates
        overlap = desktop_seed_overlap(int(e.seed), int(e.episodes))
        if overlap:
            print(f"act-generate: {overlap}", file=sys.stderr)
            sys.exit(2)
    try:
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
            variety=e.get("variety", 0.0),
        )
    except OutDirError as err:  # refused before any episode: the message says how to proceed
        print(f"act-generate: {err}", file=sys.stderr)
        sys.exit(2)
    print(format_summary(summary))
    if e.episodes > 0 and not summary.get("num_episodes"):
        print(f"act-generate: no episode was written to {cfg.out_dir}", file=sys.stderr)
        sys.exit(1)


def desktop_seed_overlap(seed: int, episodes: int) -> str | None:
    """Why the seeds a desktop recording run may use (``seed`` up to ``seed + 2 * episodes + 10``,
    failed seeds being skipped) would include the desktop suite's test or validation seeds; None
    when they do not."""
    from omegaconf import OmegaConf

    from act.eval.suites import SUITE_DIR, SeedRange

    suite = OmegaConf.load(SUITE_DIR / "suite" / "desktop.yaml")  # inside act-generate's Hydra app
    tries = SeedRange(seed, 2 * episodes + 10)
    for split in ("test", "validation"):
        seeds = SeedRange.parse(suite[f"{split}_seeds"], f"suite desktop: {split}_seeds")
        if tries.overlaps(seeds):
            return (
                f"env.seed={seed} with env.episodes={episodes} may record seeds {tries}, which include "
                f"the desktop suite's {split} seeds {seeds}: start below or above them"
            )
    return None


if __name__ == "__main__":
    main()
