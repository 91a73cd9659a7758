"""`act-demo`: generate synthui demonstrations, train ACT and BC on the CPU, evaluate against macro
replay under perturbations, print the table. Each finished stage is skipped when run again."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from act.policy.configuration_act import CONFIG_NAME

QUICK = [
    "policy=tiny",
    "data.generate.tasks=[ClickButton]",
    "data.task_weights=null",  # the experiment's weights are one per task of its own list
    "data.generate.episodes=4",
    "data.generate.perturbations=['']",
    "trainer.max_steps=10",
    "trainer.val_check_interval=5",
    "callbacks.closed_loop.episodes=0",
    "callbacks.step_checkpoint.every_n_train_steps=5",
    "logger=csv",
    "trainer.log_every_n_steps=1",
]


# What act-demo trains (act/configs/experiment/demo_typing.yaml): the demo recipe plus a typing task.
EXPERIMENT = "demo_typing"


class DemoSetupError(ValueError):
    """act-demo cannot start as asked (another experiment's outputs, a non-synthui experiment)."""


def experiments() -> list[str]:
    """The experiment configs act-demo can train (act/configs/experiment/*.yaml)."""
    return sorted(f.stem for f in (Path(__file__).parent / "configs" / "experiment").glob("*.yaml"))


# A stage trained in a worker process reports its progress to act-demo's bars instead of its own.
QUIET = ["callbacks.progress_bar=null", "++trainer.enable_progress_bar=false"]


def _compose(name: str, out: Path, data_dir: Path, overrides: list[str], experiment: str = EXPERIMENT):
    from hydra import compose, initialize_config_dir

    from act.training import register_configs

    register_configs()
    config_dir = str(Path(__file__).parent / "configs")
    with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
        return compose(
            "train",
            overrides=[
                f"experiment={experiment}",
                *overrides,
                f"paths.output_dir={out / name}",
                f"paths.data_dir={data_dir}",
            ],
        )


def _trained(run: Path) -> dict[str, Any] | None:
    """The summary of a finished training run in ``run``, or None."""
    summary_file = run / "train_summary.json"
    if summary_file.is_file() and (run / "policies" / "best" / CONFIG_NAME).is_file():
        return json.loads(summary_file.read_text())
    return None


def _train(
    name: str,
    out: Path,
    data_dir: Path,
    overrides: list[str],
    callbacks: list | None = None,
    experiment: str = EXPERIMENT,
) -> dict:
    """Train one policy of ``experiment`` into ``out/name``; return its summary."""
    from act.training import train

    cfg = _compose(name, out, data_dir, overrides, experiment)
    print(f"[demo] {name}: training {cfg.trainer.max_steps} steps -> {out / name}", flush=True)
    _, objects = train(cfg, callbacks=callbacks)
    return objects["summary"]


def _stage_worker(
    name: str, out: str, data_dir: str, overrides: list[str], threads: int, queue, experiment: str
) -> None:
    """One training stage in its own process: ``threads`` torch threads, output to out/name/train.log,
    progress and the result (or the traceback) through ``queue``. Stops when act-demo is gone."""
    import multiprocessing as mp
    import os
    import sys
    import traceback

    import lightning as L
    import torch

    parent = mp.parent_process()

    class Progress(L.Callback):
        def on_train_batch_end(self, trainer, *args) -> None:
            if parent is not None and not parent.is_alive():  # killed act-demo: no one waits for this run
                raise SystemExit(f"[demo] {name}: act-demo is gone, stopping")
            if trainer.global_step % 10 == 0:
                queue.put(("step", name, trainer.global_step))

    torch.set_num_threads(threads)
    run = Path(out) / name
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "train.log", "w", buffering=1) as log:
        os.dup2(log.fileno(), 1)  # C-level output too; sys.__stdout__/__stderr__ now write to the log
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        try:
            t0 = time.perf_counter()
            summary = _train(name, Path(out), Path(data_dir), [*overrides, *QUIET], [Progress()], experiment)
            queue.put(
                ("done", name, {"summary": summary, "stage_seconds": round(time.perf_counter() - t0, 1)})
            )
        except BaseException:
            trace = traceback.format_exc()
            log.write(trace)
            queue.put(("error", name, trace))
            raise
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _train_in_parallel(
    stages: dict[str, list[str]],
    steps: dict[str, int],
    out: Path,
    data_dir: Path,
    threads: int,
    experiment: str = EXPERIMENT,
) -> dict[str, dict]:
    """Train the stages at once, one process each with ``threads`` torch threads: two small models
    on one thread each finish in ~55% of the time they take one after the other on two (2 cores)."""
    import multiprocessing as mp
    from queue import Empty

    from tqdm.auto import tqdm

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = {
        name: ctx.Process(
            target=_stage_worker,
            args=(name, str(out), str(data_dir), overrides, threads, queue, experiment),
            name=f"act-demo-{name}",
            daemon=False,
        )
        for name, overrides in stages.items()
    }
    print(
        f"[demo] training {', '.join(stages)} at once ({threads} thread(s) each); logs: "
        f"{', '.join(str(out / n / 'train.log') for n in stages)}",
        flush=True,
    )
    bars = {
        name: tqdm(total=steps[name], desc=f"[demo] {name}", position=i, dynamic_ncols=True)
        for i, name in enumerate(stages)
    }
    results: dict[str, dict] = {}

    def handle(kind: str, name: str, payload: Any) -> None:
        if kind == "step":
            bars[name].update(payload - bars[name].n)
        elif kind == "done":
            bars[name].update(bars[name].total - bars[name].n)
            results[name] = payload
        else:
            raise RuntimeError(
                f"[demo] {name}: training failed (log: {out / name / 'train.log'}):\n{payload}"
            )

    try:
        for p in procs.values():
            p.start()
        while len(results) < len(procs):
            with contextlib.suppress(Empty):
                handle(*queue.get(timeout=1.0))
            dead = [n for n, p in procs.items() if n not in results and not p.is_alive()]
            if dead:
                with contextlib.suppress(Empty):  # what a run said before it ended
                    while True:
                        handle(*queue.get(timeout=0.5))
                for n in dead:
                    if n not in results:
                        raise RuntimeError(
                            f"[demo] {n}: training stopped (exit code {procs[n].exitcode}) "
                            f"without a result; see {out / n / 'train.log'}"
                        )
    finally:
        for bar in bars.values():
            bar.close()
        for p in procs.values():
            if p.pid is None:  # never started
                continue
            if p.is_alive() and len(results) < len(procs):
                p.terminate()
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    return results


def run_demo(
    out_dir: str | Path = "outputs/demo",
    data_dir: str | Path = "data",
    quick: bool = False,
    num_workers: int | None = None,
    episodes: int | None = None,
    sequential: bool = False,
    experiment: str = EXPERIMENT,
) -> dict[str, Any]:
    """The whole pipeline on the built-in default; returns the evaluation results.

    ACT and BC train at once, in two processes sharing the cores, unless ``sequential``. ``experiment``
    names what they train; the demo suite then runs on that experiment's tasks."""
    import torch
    from omegaconf import OmegaConf

    from act.eval import PolicySpec, evaluate, load_results, load_suite
    from act.training.train import prepare_dataset

    out = Path(out_dir)
    start = time.perf_counter()
    extra = QUICK if quick else []
    times = {}
    # BC keeps one step per prediction: the demo experiment's chunk_size is ACT's, and an experiment
    # is applied after the policy group, so it has to be set again here.
    stages = {"act": [*extra], "bc": [*extra, "policy=bc", "policy.chunk_size=1"]}
    summary_path = out / "demo_summary.json"
    previous = json.loads(summary_path.read_text())["demo"] if summary_path.is_file() else {}
    # finished stages of another recipe must not be reused; summaries without the key predate
    # --experiment, when act-demo trained experiment=demo
    trained_as = previous.get("experiment", "demo") if previous else experiment
    if trained_as != experiment:
        raise DemoSetupError(
            f"{out} holds the demo of experiment={trained_as}; "
            f"give experiment={experiment} another output directory (--out)"
        )
    before = previous.get("stages", {})
    cfgs = {
        name: _compose(name, out, Path(data_dir), overrides, experiment) for name, overrides in stages.items()
    }
    generate = cfgs["act"].data.generate
    if generate.env != "synthui":  # the demo suite is synthui's
        raise DemoSetupError(
            f"experiment={experiment} trains on {generate.env}; act-demo runs synthui experiments"
        )
    tasks = list(generate.tasks)  # the suite's tasks are the ones the policies learn
    todo = {}
    for name, overrides in stages.items():
        if (summary := _trained(out / name)) is not None:
            print(f"[demo] {name}: trained already ({out / name}), skipping")
            times[name] = {
                **before.get(name, {"train_seconds": summary.get("train_seconds")}),
                "skipped": True,
            }
        else:
            todo[name] = overrides
    cores = torch.get_num_threads()
    if len(todo) > 1 and cores >= len(todo) and not sequential:
        t0 = time.perf_counter()
        for name in todo:  # before the runs start, so they never build a dataset at once
            cfg = cfgs[name]
            prepare_dataset(OmegaConf.to_object(cfg.data), tuple(cfg.policy.image_size), data_dir)
        print(f"[demo] data ready in {time.perf_counter() - t0:.0f} s")
        steps = {name: cfgs[name].trainer.max_steps for name in todo}
        runs = _train_in_parallel(todo, steps, out, Path(data_dir), cores // len(todo), experiment)
    else:
        runs = {}
        for name, overrides in todo.items():
            t0 = time.perf_counter()
            summary = _train(name, out, Path(data_dir), overrides, experiment=experiment)
            runs[name] = {"summary": summary, "stage_seconds": round(time.perf_counter() - t0, 1)}
    for name, run in runs.items():
        times[name] = {
            "train_seconds": run["summary"].get("train_seconds"),
            "stage_seconds": run["stage_seconds"],
        }
    eval_dir = out / "eval"
    if (eval_dir / "results.json").is_file():
        print(f"[demo] evaluation: done already ({eval_dir}), skipping")
        results = load_results(eval_dir)
    else:
        sets = [f"tasks=[{','.join(tasks)}]"]
        if quick:
            sets += ["episodes=2", "families=[layout_shift,theme]"]
        if episodes:
            sets.append(f"episodes={episodes}")
        suite = load_suite("demo", sets)
        act = str(out / "act" / "policies" / "best")
        # ACT re-planning at every step (the first step of each fresh chunk: closed loop, as a UI
        # that changes after each action needs) and executing whole chunks open loop.
        specs = [
            PolicySpec("act", "act", act, ensemble=-1.0, n_action_steps=1),
            PolicySpec("act_chunk", "act", act, ensemble=-1.0),
            PolicySpec("bc", "act", str(out / "bc" / "policies" / "best")),
            PolicySpec("macro", "macro"),
        ]
        print(
            f"[demo] evaluating {len(specs)} policies on suite {suite.name}: "
            f"{len(suite.conditions())} conditions x {len(suite.tasks)} tasks x {suite.episodes} "
            f"{suite.split} seeds {suite.seed_range}"
        )
        results = evaluate(specs, suite, num_workers=num_workers, out_dir=eval_dir, gif_failures=1)
    results["demo"] = {
        "experiment": experiment,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "stages": times,
        "out_dir": str(out),
    }
    summary_path.write_text(json.dumps({k: results[k] for k in ("demo", "summary")}, indent=1) + "\n")
    return results
