"""Benchmark synthui: env steps/s with rendering, per task, on one core.

    .venv/bin/python scripts/bench_env.py [--episodes 200 --perturbation "theme:0.5,layout_shift:0.5"]

The scripted expert drives each env; only the env's own calls are timed. ``env steps/s`` counts
step() calls (input, app logic, rendering a fresh frame, the element tree); ``incl. reset`` adds the
per-episode reset (sampling the task, layout, first frame) to the same steps; ``with expert`` is the
whole loop, as generation runs it (without writing PNGs). Prints a table and writes bench_env.json
in --out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from act.envs.synthui import TASKS, SynthUIEnv, expert_for  # noqa: E402


def bench(task: str, episodes: int, perturbation: str | None) -> dict[str, float]:
    env = SynthUIEnv(task, perturbation=perturbation)
    expert = expert_for(env)
    run_expert_once(env, expert, 10_000)  # warm the text caches
    t_step = t_reset = 0.0
    steps = 0
    start = time.perf_counter()
    for seed in range(episodes):
        t0 = time.perf_counter()
        obs, info = env.reset(seed=seed)
        t_reset += time.perf_counter() - t0
        done = False
        while not done:
            action = env.to_env_action(expert.act(obs, info))
            t0 = time.perf_counter()
            obs, _, terminated, truncated, info = env.step(action)
            t_step += time.perf_counter() - t0
            steps += 1
            done = terminated or truncated
    total = time.perf_counter() - start
    return {
        "episodes": episodes,
        "steps": steps,
        "steps_per_episode": steps / episodes,
        "env_steps_per_s": steps / t_step,
        "env_steps_per_s_incl_reset": steps / (t_step + t_reset),
        "steps_per_s_with_expert": steps / total,
        "reset_ms": 1000 * t_reset / episodes,
    }


def run_expert_once(env: SynthUIEnv, expert, seed: int) -> None:
    obs, info = env.reset(seed=seed)
    while True:
        obs, _, terminated, truncated, info = env.step(env.to_env_action(expert.act(obs, info)))
        if terminated or truncated:
            return


def main() -> None:
    if "--env" in sys.argv:  # --env synthui (default) | miniwob: the browser backend has its own bench
        i = sys.argv.index("--env")
        env = sys.argv[i + 1] if i + 1 < len(sys.argv) else ""
        del sys.argv[i : i + 2]
        if env == "miniwob":
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from bench_miniwob import main as bench_miniwob

            raise SystemExit(bench_miniwob(sys.argv[1:]))
        if env != "synthui":
            raise SystemExit(f"bench_env.py: unknown --env {env!r}; expected synthui or miniwob")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--tasks", nargs="*", default=list(TASKS))
    p.add_argument("--perturbation", default=None)
    p.add_argument("--out", default=".")
    args = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    results = {t: bench(t, args.episodes, args.perturbation) for t in args.tasks}
    head = (
        f"{'task':16s} {'steps/ep':>8s} {'env steps/s':>12s} {'incl. reset':>12s} {'with expert':>12s} "
        f"{'reset ms':>9s}"
    )
    print(f"synthui 160x120, rendering on, one core, perturbation: {args.perturbation or 'none'}")
    print(head)
    for t, r in results.items():
        print(
            f"{t:16s} {r['steps_per_episode']:8.1f} {r['env_steps_per_s']:12.0f} "
            f"{r['env_steps_per_s_incl_reset']:12.0f}"
            f" {r['steps_per_s_with_expert']:12.0f} {r['reset_ms']:9.2f}"
        )
    out = Path(args.out) / "bench_env.json"
    out.write_text(json.dumps({"perturbation": args.perturbation, "tasks": results}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
