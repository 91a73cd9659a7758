"""Benchmark many checkpoints and baselines side by side: success per suite, latency, size, training time."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from act.eval.evaluate import evaluate
from act.eval.policies import PolicySpec, load_policy
from act.eval.protocol import ChunkPolicy, as_policy, select_action, start_episode
from act.eval.report import markdown, text_table
from act.eval.suites import Suite


def measure_latency(
    spec: PolicySpec, env_id: str = "synthui/ClickButton-v0", steps: int = 50
) -> dict[str, Any]:
    """select_action p50/p95 over consecutive steps (what a controller pays per step) and, for ACT,
    predict_chunk p50 (one model call), in milliseconds, batch 1, on the CPU."""
    import torch

    from act.envs import make

    torch.set_num_threads(max(1, torch.get_num_threads()))
    policy = as_policy(load_policy(spec))
    env = make(env_id)
    obs, info = start_episode(policy, env, env_id, 0)  # reset's info: no private env call
    times = []
    for _ in range(steps + 3):
        t0 = time.perf_counter()
        select_action(policy, obs, info)
        times.append(time.perf_counter() - t0)
    times = np.array(times[3:]) * 1e3
    out = {
        "select_action_p50_ms": float(np.percentile(times, 50)),
        "select_action_p95_ms": float(np.percentile(times, 95)),
    }
    if isinstance(policy, ChunkPolicy):
        chunk = []
        for _ in range(min(steps, 20) + 2):
            t0 = time.perf_counter()
            policy.predict_chunk(obs)
            chunk.append(time.perf_counter() - t0)
        out["chunk_p50_ms"] = float(np.percentile(np.array(chunk[2:]) * 1e3, 50))
        out["parameters"] = sum(p.numel() for p in policy.parameters())
    env.close()
    return out


def _training_info(path: str | None) -> dict[str, Any]:
    """train_summary.json of the run a policies/<name> dir belongs to, where there is one."""
    if not path:
        return {}
    for parent in list(Path(path).parents)[:3]:
        f = parent / "train_summary.json"
        if f.is_file():
            s = json.loads(f.read_text())
            return {"train_seconds": s.get("train_seconds"), "train_steps": s.get("global_step")}
    return {}


def bench(
    specs: Sequence[PolicySpec],
    suites: Sequence[Suite],
    out_dir: str | Path,
    *,
    num_workers: int | None = None,
    latency_steps: int = 50,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate every policy on every suite; write leaderboard.md, leaderboard.json and a plot."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict[str, Any]] = {
        s.name: {"name": s.name, "kind": s.kind, "path": s.path} for s in specs
    }
    for suite in suites:
        results = evaluate(specs, suite, num_workers=num_workers, out_dir=out / suite.name, progress=progress)
        for name, summary in results["summary"].items():
            nominal = summary["conditions"].get("nominal", {}).get("success")
            rows[name][f"{suite.name}/nominal"] = nominal
            if summary["families"]:
                rows[name][f"{suite.name}/families"] = float(
                    np.mean(
                        [f["severity"][max(f["severity"], key=float)] for f in summary["families"].values()]
                    )
                )
                rows[name][f"{suite.name}/auc"] = summary["mean_auc"]
    for s in specs:
        rows[s.name].update(measure_latency(s, suites[0].env_ids()[0], latency_steps))
        rows[s.name].update(_training_info(s.path))
    board = {"suites": [vars(s) for s in suites], "policies": list(rows.values())}
    (out / "leaderboard.json").write_text(json.dumps(board, indent=1, default=str) + "\n")
    table = leaderboard_table(board)
    (out / "leaderboard.md").write_text(
        "# Leaderboard\n\n"
        + markdown(table)
        + "\n\nPer-suite reports: "
        + ", ".join(f"[{s.name}]({s.name}/report.md)" for s in suites)
        + "\n"
    )
    board["plot"] = str(plot_leaderboard(board, out / "leaderboard.png"))
    board["text"] = text_table(table)
    return board


def leaderboard_table(board: dict[str, Any]) -> list[list[str]]:
    metric_keys = [k for k in board["policies"][0] if "/" in k] if board["policies"] else []
    header = ["policy", *metric_keys, "act p50 ms", "act p95 ms", "chunk ms", "params", "train s"]
    rows = [header]

    def f(v: Any, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)

    for p in sorted(board["policies"], key=lambda p: -(p.get(metric_keys[0]) or 0) if metric_keys else 0):
        rows.append(
            [
                p["name"],
                *[f(p.get(k), ".0%") if not k.endswith("auc") else f(p.get(k), ".2f") for k in metric_keys],
                f(p.get("select_action_p50_ms"), ".2f"),
                f(p.get("select_action_p95_ms"), ".2f"),
                f(p.get("chunk_p50_ms"), ".1f"),
                f(p.get("parameters") and p["parameters"] / 1e6, ".2f")
                + ("M" if p.get("parameters") else ""),
                f(p.get("train_seconds"), ".0f"),
            ]
        )
    return rows


def plot_leaderboard(board: dict[str, Any], path: Path) -> Path:
    from matplotlib.figure import Figure  # not pyplot: never switch the caller's backend (notebooks)

    keys = [k for k in board["policies"][0] if "/" in k and not k.endswith("auc")]
    names = [p["name"] for p in board["policies"]]
    fig = Figure(figsize=(1.2 + 1.0 * len(names) * max(1, len(keys)) / 2, 3))
    ax = fig.subplots()
    width = 0.8 / max(len(keys), 1)
    for i, k in enumerate(keys):
        ax.bar(np.arange(len(names)) + i * width, [p.get(k) or 0 for p in board["policies"]], width, label=k)
    ax.set_xticks(np.arange(len(names)) + width * (len(keys) - 1) / 2, names, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
