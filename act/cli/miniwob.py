"""`act-miniwob`: the MiniWoB++ benchmark in one command (generate, train, evaluate on test seeds).

    act-miniwob                      # every Pix2Act task with an expert, 200 demonstrations each
    act-miniwob --gpu                # train on a CUDA GPU
    act-miniwob --quick              # two tasks, a tiny policy: the pipeline end to end in minutes
    act-miniwob --tasks click-test,click-tab --demos 50 --steps 4000

Needs Chromium (scripts/setup.sh installs it). Writes <out>/benchmark.json and <out>/report.md;
finished stages are skipped when run again. Time on 2 CPU cores: docs/experiments.md#miniwob-benchmark.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from act.eval import NotWritableError, ensure_writable


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="act-miniwob", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="outputs/miniwob", help="where the run, evaluation and report go")
    p.add_argument("--data", default="data", help="where recordings and datasets go")
    p.add_argument("--tasks", help="comma-separated MiniWoB++ tasks (default: every benchmark task)")
    p.add_argument("--demos", type=int, help="expert demonstrations per task (default 200)")
    p.add_argument("--steps", type=int, help="training steps (default: experiment=miniwob's)")
    p.add_argument("--test-seeds", type=int, default=50, help="test seeds per task and condition")
    p.add_argument("--families", help="comma-separated perturbation families (default: the suite's six)")
    p.add_argument("--gpu", action="store_true", help="train on a CUDA GPU (trainer=gpu)")
    p.add_argument("--quick", action="store_true", help="two tasks, a tiny policy: a smoke test")
    p.add_argument("--num-workers", type=int, help="evaluation processes, one browser each")
    p.add_argument("overrides", nargs="*", help="more act-train overrides, e.g. policy.dim_model=256")
    args = p.parse_args(argv)
    from act.envs import miniwob

    reason = miniwob.available()
    if reason is not None:
        print(f"act-miniwob: MiniWoB++ cannot run here: {reason}", file=sys.stderr)
        return 2
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    unknown = [t for t in tasks or [] if t not in miniwob.TASKS]
    if unknown:
        print(
            f"act-miniwob: no expert for {unknown}; tasks with one: {sorted(miniwob.TASKS)}", file=sys.stderr
        )
        return 2
    families = [f.strip() for f in args.families.split(",") if f.strip()] if args.families else None
    odd = [f for f in families or [] if f not in miniwob.SUPPORTED_FAMILIES]
    if odd:
        print(
            f"act-miniwob: no MiniWoB++ family {odd}; families: {list(miniwob.SUPPORTED_FAMILIES)}",
            file=sys.stderr,
        )
        return 2
    try:  # before an hour of work, not after it
        ensure_writable(args.out, "--out")
        ensure_writable(args.data, "--data")
    except NotWritableError as e:
        print(f"act-miniwob: {e}", file=sys.stderr)
        return 2
    from act.miniwob_benchmark import SettingsChanged, run_benchmark

    try:
        bench = run_benchmark(
            args.out,
            args.data,
            tasks=tasks,
            demos=args.demos,
            steps=args.steps,
            test_seeds=args.test_seeds,
            families=families,
            gpu=args.gpu,
            quick=args.quick,
            num_workers=args.num_workers,
            overrides=args.overrides,
        )
    except SettingsChanged as e:
        print(f"act-miniwob: {e}", file=sys.stderr)
        return 2
    print()
    print(Path(args.out, "report.md").read_text())
    print(f"act-miniwob finished in {bench['wall_seconds']:.0f} s; {args.out}/benchmark.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
