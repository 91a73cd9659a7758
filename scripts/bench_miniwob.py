"""MiniWoB++ env throughput: browser start, reset time, steps/s (expert actions), expert success.

    python scripts/bench_miniwob.py                       # 3 tasks, 10 episodes each
    python scripts/bench_miniwob.py --tasks login-user --episodes 20 --perturbation popup:1
    python scripts/bench_miniwob.py --all --episodes 20   # every task with an expert (the >= 95% check)

Prints a table and writes JSON (``--json``). Figures, not asserts: the machine decides them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def bench(tasks: list[str], episodes: int, perturbation: str | None, seed: int, reload_every: int) -> dict:
    from act.envs.miniwob import MiniWoBEnv

    out: dict = {
        "tasks": {},
        "perturbation": perturbation or "",
        "episodes": episodes,
        "reload_every": reload_every,
    }
    t0 = time.perf_counter()
    env = MiniWoBEnv(tasks[0], perturbation=perturbation, reload_every=reload_every)
    env.reset(seed=seed)
    out["browser_start_s"] = round(time.perf_counter() - t0, 3)
    env.close()
    for task in tasks:
        env = MiniWoBEnv(task, perturbation=perturbation, reload_every=reload_every)
        expert = env.make_expert()
        resets, step_times, ok, restarts = [], [], 0, 0
        env.reset(seed=seed)  # page load of a new task: not counted
        for k in range(episodes):
            t = time.perf_counter()
            obs, info = env.reset(seed=seed + k)
            resets.append(time.perf_counter() - t)
            while True:
                action = expert.act(obs, info)
                t = time.perf_counter()
                obs, _, terminated, truncated, info = env.step(env.to_env_action(action))
                step_times.append(time.perf_counter() - t)
                if terminated or truncated:
                    break
            ok += bool(info["success"])
            restarts = info["browser_restarts"]
        env.close()
        out["tasks"][task] = {
            "expert_success": ok / episodes,
            "reset_s": round(statistics.mean(resets), 4),
            "step_s": round(statistics.mean(step_times), 4),
            "steps_per_s": round(len(step_times) / sum(step_times), 1),
            "steps": len(step_times),
            "browser_restarts": restarts,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    from act.envs.miniwob import TASKS, available

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=["click-button", "login-user", "click-checkboxes"])
    p.add_argument("--all", action="store_true", help="every task with a DOM expert")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--perturbation", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reload-every", type=int, default=1, help="reload the task page every N episodes")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    reason = available()
    if reason:
        print(f"[bench_miniwob] cannot run: {reason}", file=sys.stderr)
        return 2
    tasks = list(TASKS) if args.all else args.tasks
    r = bench(tasks, args.episodes, args.perturbation, args.seed, args.reload_every)
    print(
        f"browser start (Chromium + first page): {r['browser_start_s']:.2f} s"
        f"   perturbation: {r['perturbation'] or 'nominal'}   reload every {r['reload_every']} episode(s)"
    )
    print(f"{'task':28s} {'expert':>7s} {'reset s':>8s} {'step s':>7s} {'steps/s':>8s} {'steps':>6s}")
    for task, t in r["tasks"].items():
        print(
            f"{task:28s} {t['expert_success']:7.0%} {t['reset_s']:8.3f} {t['step_s']:7.3f} "
            f"{t['steps_per_s']:8.1f} {t['steps']:6d}"
        )
    all_steps = sum(t["steps"] for t in r["tasks"].values())
    all_time = sum(t["steps"] * t["step_s"] for t in r["tasks"].values())
    r["steps_per_s"] = round(all_steps / all_time, 1) if all_time else 0.0
    r["reset_s"] = round(statistics.mean(t["reset_s"] for t in r["tasks"].values()), 4)
    print(f"overall: {r['steps_per_s']:.1f} steps/s, reset {r['reset_s']:.3f} s")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
