"""`act-demo`: the main job on the built-in default (no downloads, no accounts).

Generates synthui demonstrations, trains the default CPU ACT policy and a BC baseline, evaluates
them and macro replay nominal and under each perturbation family, prints the table and writes
outputs/demo/eval/report.md. Run it again and finished stages are skipped.
"""

from __future__ import annotations

import argparse
import sys

from act.demo import EXPERIMENT, DemoSetupError, experiments, run_demo
from act.eval import NotWritableError, all_errored, describe_all_errored, ensure_writable, format_summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="act-demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="outputs/demo", help="where runs, reports and the summary go")
    p.add_argument("--data", default="data", help="where generated recordings and datasets go")
    p.add_argument("--quick", action="store_true", help="tiny settings: a smoke test in about a minute")
    p.add_argument("--episodes", type=int, default=None, help="evaluation seeds per task and condition")
    p.add_argument(
        "--num-workers", type=int, default=None, help="evaluation worker processes (default: one per core)"
    )
    p.add_argument(
        "--sequential",
        action="store_true",
        help="train ACT, then BC, each on every core (default: both at once, the cores split between them)",
    )
    p.add_argument(
        "--experiment",
        default=EXPERIMENT,
        choices=experiments(),
        help=f"what ACT and BC train (act/configs/experiment; default {EXPERIMENT}: the click tasks and "
        "SearchSubmit); the demo suite runs on its tasks. experiment=demo is the click-only demo",
    )
    args = p.parse_args(argv)
    try:  # before an hour of work, not after it
        ensure_writable(args.out, "--out")
        ensure_writable(args.data, "--data")
    except NotWritableError as e:
        print(f"act-demo: {e}", file=sys.stderr)
        return 2
    try:
        results = run_demo(
            args.out,
            args.data,
            quick=args.quick,
            num_workers=args.num_workers,
            episodes=args.episodes,
            sequential=args.sequential,
            experiment=args.experiment,
        )
    except DemoSetupError as e:  # --out holds another experiment's demo, or not a synthui one
        print(f"act-demo: {e}", file=sys.stderr)
        return 2
    print()
    print(format_summary(results, f"{args.out}/eval"))
    print(
        f"\ndemo finished in {results['demo']['wall_seconds']:.0f} s; summary: {args.out}/demo_summary.json"
    )
    failed = all_errored(results)
    if failed:
        print(
            f"act-demo: {describe_all_errored(failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
