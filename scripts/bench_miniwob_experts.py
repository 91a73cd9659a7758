"""MiniWoB++ DOM expert success per task over N seeds, and episodes/s (one browser, one task at a time).

    python scripts/bench_miniwob_experts.py --seeds 100                      # every task with an expert
    python scripts/bench_miniwob_experts.py --seeds 20 --tasks click-test use-slider --verbose
    python scripts/bench_miniwob_experts.py --seeds 5 --perturbation popup:1 --json /tmp/mw.json

An expert that raises (``ExpertStuck``) counts as a failed episode. Prints one line per task as it
finishes and writes JSON (``--json``). Figures, not asserts: the machine decides the speed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def bench_task(task: str, seeds: list[int], perturbation: str | None, verbose: bool) -> dict:
    from act.envs.miniwob import MiniWoBEnv
    from act.envs.miniwob.expert import ExpertStuck

    env = MiniWoBEnv(task, perturbation=perturbation)
    expert = env.make_expert()
    ok, steps, failures = 0, 0, []
    t0 = time.perf_counter()
    try:
        for seed in seeds:
            obs, info = env.reset(seed=seed)
            expert.reset(seed)
            why = None
            while True:
                try:
                    action = expert.act(obs, info)
                except ExpertStuck as e:
                    why = f"stuck: {e}"
                    break
                obs, _, terminated, truncated, info = env.step(env.to_env_action(action))
                steps += 1
                if terminated or truncated:
                    if not info["success"]:
                        why = "truncated" if truncated else f"reward {info['raw_reward']}: {info['reason']}"
                    break
            if why is None:
                ok += 1
            else:
                failures.append({"seed": seed, "why": why})
                if verbose:
                    print(f"  {task} seed {seed}: {why}", flush=True)
    finally:
        env.close()
    dt = time.perf_counter() - t0
    return {
        "success": ok / len(seeds),
        "episodes": len(seeds),
        "steps": steps,
        "seconds": round(dt, 2),
        "episodes_per_s": round(len(seeds) / dt, 3),
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    from act.envs.miniwob import TASKS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", nargs="*", default=None, help="default: every task with an expert")
    ap.add_argument("--seeds", type=int, default=100, help="episodes per task (seeds start..start+N-1)")
    ap.add_argument("--start", type=int, default=1000, help="first seed")
    ap.add_argument("--perturbation", default=None, help='e.g. "popup:1" or "theme:0.5,reorder:1"')
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--verbose", action="store_true", help="print each failed seed and why")
    args = ap.parse_args(argv)

    tasks = args.tasks or list(TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        ap.error(f"no expert for {', '.join(unknown)}")
    seeds = list(range(args.start, args.start + args.seeds))
    out: dict = {"seeds": [seeds[0], seeds[-1]], "perturbation": args.perturbation or "", "tasks": {}}
    t0 = time.perf_counter()
    for task in tasks:
        r = bench_task(task, seeds, args.perturbation, args.verbose)
        out["tasks"][task] = r
        print(
            f"{task:32s} success {r['success']:.2f} ({r['episodes']} seeds)  {r['episodes_per_s']:.2f} ep/s",
            flush=True,
        )
        if args.json:  # rewritten after every task, so a long run killed midway keeps what it measured
            args.json.write_text(json.dumps(out, indent=1))
    total = sum(r["episodes"] for r in out["tasks"].values())
    out["episodes_per_s"] = round(total / (time.perf_counter() - t0), 3)
    below = [t for t, r in out["tasks"].items() if r["success"] < 0.95]
    print(
        f"{len(tasks)} tasks, {total} episodes, {out['episodes_per_s']:.2f} ep/s;",
        f"below 0.95: {below or 'none'}",
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
