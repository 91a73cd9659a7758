"""`act-demo`: generate synthui demonstrations, train ACT and BC on the CPU, evaluate against macro
replay under perturbations, print the table. Each finished stage is skipped when run again."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

QUICK = ["policy=tiny", "data.generate.tasks=[ClickButton]", "data.generate.episodes=4",
         "data.generate.perturbations=['']", "trainer.max_steps=10", "trainer.val_check_interval=5",
         "callbacks.closed_loop.episodes=0", "callbacks.model_checkpoint.every_n_train_steps=5",
         "logger=csv", "trainer.log_every_n_steps=1"]  # fmt: skip


def _train(name: str, out: Path, data_dir: Path, overrides: list[str]) -> dict[str, Any]:
    """Train one policy into ``out/name`` unless it is already there; return its summary."""
    run = out / name
    summary_file = run / "train_summary.json"
    if summary_file.is_file() and (run / "policies" / "best" / "config.json").is_file():
        print(f"[demo] {name}: trained already ({run}), skipping")
        return json.loads(summary_file.read_text())
    from hydra import compose, initialize_config_dir

    from act.training import register_configs, train

    register_configs()
    config_dir = str(Path(__file__).parent / "configs")
    with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=demo", *overrides, f"paths.output_dir={run}",
                                          f"paths.data_dir={data_dir}"])  # fmt: skip
    print(f"[demo] {name}: training {cfg.trainer.max_steps} steps -> {run}")
    _, objects = train(cfg)
    return objects["summary"]


def run_demo(out_dir: str | Path = "outputs/demo", data_dir: str | Path = "data", quick: bool = False,
             num_workers: int | None = None, episodes: int | None = None) -> dict[str, Any]:  # fmt: skip
    """The whole pipeline on the built-in default; returns the evaluation results."""
    from act.cli.bench import load_suite
    from act.eval import PolicySpec, evaluate, load_results

    out = Path(out_dir)
    start = time.perf_counter()
    extra = QUICK if quick else []
    times = {}
    # BC keeps one step per prediction: the demo experiment's chunk_size is ACT's, and an experiment
    # is applied after the policy group, so it has to be set again here.
    for name, overrides in [("act", []), ("bc", ["policy=bc", "policy.chunk_size=1"])]:
        t0 = time.perf_counter()
        summary = _train(name, out, Path(data_dir), [*extra, *overrides])
        times[name] = {
            "train_seconds": summary.get("train_seconds"),
            "stage_seconds": round(time.perf_counter() - t0, 1),
        }
    eval_dir = out / "eval"
    if (eval_dir / "results.json").is_file():
        print(f"[demo] evaluation: done already ({eval_dir}), skipping")
        results = load_results(eval_dir)
    else:
        sets = ["tasks=[ClickButton]", "episodes=2", "families=[layout_shift,theme]"] if quick else []
        if episodes:
            sets.append(f"episodes={episodes}")
        suite = load_suite("demo", sets)
        act = str(out / "act" / "policies" / "best")
        # ACT re-planning at every step (the first step of each fresh chunk: closed loop, as a UI
        # that changes after each action needs) and executing whole chunks open loop.
        specs = [PolicySpec("act", "act", act, ensemble=-1.0, n_action_steps=1),
                 PolicySpec("act_chunk", "act", act, ensemble=-1.0),
                 PolicySpec("bc", "act", str(out / "bc" / "policies" / "best")), PolicySpec("macro", "macro")]  # fmt: skip
        print(f"[demo] evaluating {len(specs)} policies on suite {suite.name}: {len(suite.conditions())} conditions x "
              f"{len(suite.tasks)} tasks x {suite.episodes} seeds")  # fmt: skip
        results = evaluate(specs, suite, num_workers=num_workers, out_dir=eval_dir, gif_failures=1)
    results["demo"] = {
        "wall_seconds": round(time.perf_counter() - start, 1),
        "stages": times,
        "out_dir": str(out),
    }
    (out / "demo_summary.json").write_text(
        json.dumps({k: results[k] for k in ("demo", "summary")}, indent=1) + "\n"
    )
    return results
