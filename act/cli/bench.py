"""`act-bench`: many checkpoints and baselines side by side on one or more suites.

act-bench outputs/train/runs/*/policies/best --suites nominal layout --episodes 10
act-bench 'mine=outputs/train/multiruns/*/*/policies/best' --suites nominal   # seeds of one config: one row
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from act.eval import (
    EvalSetupError,
    NotWritableError,
    PolicySpec,
    all_errored,
    check_evaluation,
    describe_all_errored,
    ensure_writable,
    load_results,
    load_suite,
)
from act.eval.bench import bench, policy_groups, with_executions


def _fail(message: str) -> int:
    print(f"act-bench: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="act-bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "policies",
        nargs="*",
        help="policy directories (save_pretrained) or globs; NAME=DIR names one; NAME=GLOB makes the "
        "matches training seeds of one configuration (one row: mean, spread, pooled interval)",
    )
    p.add_argument("--suites", nargs="+", default=["nominal"], help="suite names from act/configs/eval/suite")
    p.add_argument(
        "--baselines", nargs="*", default=["macro", "random"], choices=["macro", "random", "expert"]
    )
    p.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="suite overrides, e.g. episodes=5 'tasks=[ClickButton]' split=validation",
    )
    p.add_argument(
        "--execution",
        nargs="*",
        default=[],
        metavar="STRATEGY",
        help="bench every policy once per chunk execution strategy (rows NAME@STRATEGY): replan, chunk:N, "
        "ensemble:M, adaptive, adaptive:T or adaptive:T:C (act.policy.execution); default: each policy's "
        "saved setting",
    )
    p.add_argument("--num-workers", type=int, default=None)
    p.add_argument("--latency-steps", type=int, default=50)
    p.add_argument("--out", default="outputs/bench")
    args = p.parse_args(argv)
    try:
        specs, groups = with_executions(*policy_groups(args.policies), args.execution)
    except ValueError as e:  # not a policy directory, or "seeds" that differ in more than the seed
        return _fail(str(e))
    specs += [PolicySpec(b, b) for b in args.baselines]
    if not specs:
        return _fail("nothing to bench: name policy directories and/or --baselines")
    try:
        suites = [load_suite(s, args.set) for s in args.suites]
    except Exception as e:  # noqa: BLE001 - a bad suite name or override: say which
        return _fail(str(e))
    try:  # before the first episode: the output folder, every suite's tasks, every policy (loaded once)
        ensure_writable(args.out, "--out")
        for i, suite in enumerate(suites):
            check_evaluation(specs, suite, load=i == 0)  # held-out checks on every suite
    except (EvalSetupError, NotWritableError) as e:
        return _fail(str(e))
    board = bench(
        specs, suites, args.out, groups=groups, num_workers=args.num_workers, latency_steps=args.latency_steps
    )
    print(board["text"])
    out = Path(args.out)
    print(f"\nleaderboard: {out / 'leaderboard.md'}  json: {out / 'leaderboard.json'}  plot: {board['plot']}")
    failed = {
        f"{name} on {suite.name}": err
        for suite in suites
        for name, err in all_errored(load_results(out / suite.name)).items()
    }
    if failed:
        print(
            f"act-bench: {describe_all_errored(failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
