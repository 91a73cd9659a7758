"""`act-eval`: evaluate a policy and baselines on a robustness suite (a thin Hydra app).

Exit status: 0 when the evaluation ran; 2 when it could not start (a bad setting, a missing or refused
policy, an unknown task, an unwritable out_dir: nothing ran); 1 when it ran but every episode of some
policy errored (the table and results are still written).
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from act.eval import (
    EvalSetupError,
    NotWritableError,
    all_errored,
    describe_all_errored,
    ensure_writable,
    evaluate,
    format_summary,
    policy_specs_from_config,
    suite_from_config,
)


def _fail(message: str, code: int = 2) -> None:
    print(f"act-eval: {message}", file=sys.stderr)
    sys.exit(code)


@hydra.main(config_path="../configs/eval", config_name="eval", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        specs = policy_specs_from_config(cfg)
        suite = suite_from_config(cfg.suite)
    except (ValueError, TypeError) as e:  # a bad key or value of the config: its message names it
        _fail(str(e))
    if cfg.offline and not cfg.policy:
        _fail(f"offline: {cfg.offline} scores the ACT policy's chunks: set policy=DIR as well")
    if cfg.offline and not Path(cfg.offline).is_dir():
        _fail(f"offline: {cfg.offline} is not a directory (expected a built dataset)")
    try:
        results = evaluate(
            specs, suite, num_workers=cfg.num_workers, gif_failures=cfg.gif_failures, out_dir=cfg.out_dir
        )
    except (EvalSetupError, NotWritableError) as e:  # raised before any episode: what could not start
        _fail(str(e))
    print(format_summary(results, cfg.out_dir))
    if cfg.offline:
        import json

        from act.eval import format_offline, load_policy, offline_metrics

        offline = offline_metrics(load_policy(specs[0]), cfg.offline, val_fraction=None)
        (ensure_writable(cfg.out_dir, "out_dir") / "offline.json").write_text(
            json.dumps(offline, indent=1) + "\n"
        )
        print(format_offline(offline))
    failed = all_errored(results)
    if failed:
        _fail(
            f"{describe_all_errored(failed)}; results: {cfg.out_dir}",
            code=1,
        )


if __name__ == "__main__":
    main()
