"""`act-miniwob`: MiniWoB++ at the scale of the papers. Record DOM-expert demonstrations of every
task of Pix2Act's list that has an expert, train one pixel-only policy on them (experiment=miniwob),
evaluate it on test seeds nominal and under each MiniWoB++ perturbation family at severity 0.5, and
write a per-task report beside the published figures. Each finished stage is skipped when run again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Published:
    """A published pixel-only MiniWoB++ figure, with what it was measured on."""

    method: str
    success: float
    tasks: str  # the task set the mean is over
    demos: str  # the demonstrations (and other experience) behind it


# As issue 25 cites them from the papers; each is a mean over *its own* task set.
PUBLISHED = (
    Published("CC-Net, without DOM (Humphreys et al., 2022)", 0.24, "MiniWoB++ (its task set)", "2.4M demos"),
    Published("Pix2Act, behaviour cloning (Shaw et al., 2023)", 0.646, "a 35-task subset", "2.8K demos"),
    Published("SeeClick (Cheng et al., 2024)", 0.670, "the same 35-task subset", "2.8K demos"),
    Published("Pix2Act, tree-search policy improvement", 0.962, "59 tasks", "demos + tree search"),
    Published("Humans (crowdworkers, as cited by Pix2Act)", 0.935, "59 tasks", "-"),
)

# A smoke test of the whole pipeline in about two minutes: two tasks, a tiny policy.
QUICK_TASKS = ("click-test", "enter-text-2")
QUICK = [
    "policy=tiny",
    "data.generate.episodes=4",
    "data.batch_size=8",
    "trainer.max_steps=10",
    "trainer.val_check_interval=5",
    "callbacks.step_checkpoint.every_n_train_steps=5",
    "logger=csv",
    "trainer.log_every_n_steps=1",
]


def run_benchmark(
    out_dir: str | Path = "outputs/miniwob",
    data_dir: str | Path = "data",
    tasks: list[str] | None = None,
    demos: int | None = None,
    steps: int | None = None,
    test_seeds: int = 50,
    families: list[str] | None = None,
    gpu: bool = False,
    quick: bool = False,
    num_workers: int | None = None,
    overrides: list[str] | None = None,
) -> dict[str, Any]:
    """Generate, train and evaluate; returns the benchmark summary (also benchmark.json, report.md).

    ``tasks``: default every benchmark task (``act.envs.miniwob.benchmark_tasks``); ``demos``:
    demonstrations per task (default the experiment's 200); ``steps``: training steps (default the
    experiment's); ``test_seeds`` per task and condition; ``families``: default the suite's six;
    ``gpu``: train with ``trainer=gpu``; ``overrides``: more act-train overrides.
    """
    from act.demo import _compose, _train, _trained
    from act.eval import PolicySpec, evaluate, load_results, load_suite

    out = Path(out_dir)
    start = time.perf_counter()
    if quick:
        tasks = tasks or list(QUICK_TASKS)
        test_seeds = min(test_seeds, 2)
        families = families if families is not None else ["theme"]
    train_overrides = [*(QUICK if quick else []), *(overrides or [])]
    if tasks:
        train_overrides.append(f"data.generate.tasks=[{','.join(tasks)}]")
    if demos:
        train_overrides.append(f"data.generate.episodes={demos}")
    if steps:
        train_overrides.append(f"trainer.max_steps={steps}")
    if gpu:
        train_overrides.append("trainer=gpu")
    cfg = _compose("policy", out, Path(data_dir), train_overrides, "miniwob")
    tasks = list(cfg.data.generate.tasks)
    settings = {"train": train_overrides, "test_seeds": test_seeds, "families": families}
    _check_settings(out, settings)
    stages: dict[str, float | None] = {}

    run = out / "policy"
    summary = _trained(run)
    if summary is None:
        t0 = time.perf_counter()
        print(
            f"[miniwob] {len(tasks)} tasks x {cfg.data.generate.episodes} demonstrations, then "
            f"{cfg.trainer.max_steps} training steps -> {run}",
            flush=True,
        )
        summary = _train("policy", out, Path(data_dir), train_overrides, experiment="miniwob")
        stages["generate_and_train_seconds"] = round(time.perf_counter() - t0, 1)
    else:
        print(f"[miniwob] trained already ({run}), skipping")

    eval_dir = out / "eval"
    if (eval_dir / "results.json").is_file():
        print(f"[miniwob] evaluation: done already ({eval_dir}), skipping")
        results = load_results(eval_dir)
    else:
        sets = [f"tasks=[{','.join(tasks)}]", f"episodes={test_seeds}", "severities=[0.5]"]
        if families is not None:
            sets.append(f"families=[{','.join(families)}]")
        suite = load_suite("miniwob", sets)
        spec = PolicySpec("act", "act", str(run / "policies" / "best"), execution="adaptive")
        print(
            f"[miniwob] evaluating on {len(suite.conditions())} conditions x {len(tasks)} tasks x "
            f"{suite.episodes} {suite.split} seeds {suite.seed_range}",
            flush=True,
        )
        t0 = time.perf_counter()
        results = evaluate([spec], suite, num_workers=num_workers, out_dir=eval_dir, gif_failures=1)
        stages["evaluate_seconds"] = round(time.perf_counter() - t0, 1)

    bench = summarise(results, tasks)
    bench["training"] = {
        "demos_per_task": cfg.data.generate.episodes,
        "steps": summary.get("global_step"),
        "train_seconds": summary.get("train_seconds"),
        "episodes": summary.get("episodes"),
        "policy": str(run / "policies" / "best"),
    }
    bench["stages"] = stages
    bench["wall_seconds"] = round(time.perf_counter() - start, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(bench, indent=1) + "\n")
    (out / "report.md").write_text(format_report(bench))
    return bench


class SettingsChanged(ValueError):
    """``out_dir`` holds a benchmark run made with other settings: its finished stages would be reused."""


def _check_settings(out: Path, settings: dict[str, Any]) -> None:
    """Record the run's settings in ``out/settings.json``, or refuse when the folder holds another run's
    (finished stages are skipped by their files alone: a --quick policy must not stand in for a full one).
    Nothing is deleted."""
    path = out / "settings.json"
    if path.is_file():
        before = json.loads(path.read_text())
        if before != settings:
            raise SettingsChanged(
                f"{out} holds a benchmark run with other settings ({path}: {before}; now: {settings}); "
                "use another --out, or move that run away first"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=1) + "\n")


def summarise(results: dict[str, Any], tasks: list[str]) -> dict[str, Any]:
    """Per task: nominal successes, Wilson interval and the mean over the perturbation families; and
    the means over the covered tasks."""
    from statistics import mean

    from act.eval import wilson_interval

    per: dict[str, dict[str, list[bool]]] = {t: {} for t in tasks}
    errors = 0
    for e in results["episodes"]:
        if e["task"] in per:
            per[e["task"]].setdefault(e["condition"], []).append(bool(e["success"]))
            errors += e.get("error") is not None
    rows = {}
    for task, conds in per.items():
        nominal = conds.get("nominal", [])
        fam = {c: sum(v) / len(v) for c, v in conds.items() if c != "nominal" and v}
        lo, hi = wilson_interval(sum(nominal), len(nominal)) if nominal else (0.0, 0.0)
        rows[task] = {
            "nominal": sum(nominal) / len(nominal) if nominal else None,
            "n": len(nominal),
            "ci95": [round(lo, 4), round(hi, 4)],
            "families": fam,
            "families_mean": mean(fam.values()) if fam else None,
        }
    covered = [r for r in rows.values() if r["nominal"] is not None]
    with_fam = [r["families_mean"] for r in covered if r["families_mean"] is not None]
    families = sorted({c for r in covered for c in r["families"]})
    return {
        "tasks": rows,
        "mean_nominal": mean(r["nominal"] for r in covered) if covered else None,
        "mean_families": mean(with_fam) if with_fam else None,
        "per_family": {f: mean(r["families"][f] for r in covered if f in r["families"]) for f in families},
        "errors": errors,
        "split": results.get("protocol", {}).get("split"),
        "seeds": results.get("protocol", {}).get("seeds"),
    }


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def format_report(bench: dict[str, Any]) -> str:
    """The benchmark's report (markdown): per task, the means, and the published figures beside them."""
    tr = bench["training"]
    seeds = bench.get("seeds") or {}
    families = list(bench["per_family"])
    lines = [
        "# MiniWoB++ benchmark (act-miniwob)",
        "",
        f"One pixel-only policy ({tr['policy']}), {tr['demos_per_task']} expert demonstrations per task, "
        f"{tr['steps']} training steps ({tr['train_seconds']} s). Evaluated on {bench['split']} seeds "
        f"[{seeds.get('start')}, {seeds.get('stop')}) per task and condition, adaptive chunk execution; "
        f"episodes that errored (a browser lost): {bench['errors']}.",
        "",
        "| task | nominal | 95% CI (Wilson) | families @0.5 |",
        "|---|---|---|---|",
    ]
    for task, r in bench["tasks"].items():
        ci = f"[{100 * r['ci95'][0]:.0f}-{100 * r['ci95'][1]:.0f}%]"
        lines.append(f"| {task} | {_pct(r['nominal'])} ({r['n']}) | {ci} | {_pct(r['families_mean'])} |")
    n = sum(r["nominal"] is not None for r in bench["tasks"].values())
    lines += [
        f"| **mean over the {n} tasks** | **{_pct(bench['mean_nominal'])}** | | "
        f"**{_pct(bench['mean_families'])}** |",
        "",
    ]
    if families:
        lines += [
            "Per perturbation family at severity 0.5 (mean over the tasks): "
            + ", ".join(f"{f} {_pct(v)}" for f, v in bench["per_family"].items()),
            "",
        ]
    lines += [
        "Published pixel-only figures. Each is a mean over its own task set with its own demonstrations: "
        "beside this table, not comparable to it one to one.",
        "",
        "| method | success | task set | demonstrations |",
        "|---|---|---|---|",
        *(f"| {p.method} | {100 * p.success:.1f}% | {p.tasks} | {p.demos} |" for p in PUBLISHED),
        f"| this run | {_pct(bench['mean_nominal'])} | the {n} tasks above "
        f"| {tr['demos_per_task']} per task |",
        "",
    ]
    return "\n".join(lines)
