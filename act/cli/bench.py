"""`act-bench`: many checkpoints and baselines side by side on one or more suites.

act-bench outputs/train/runs/*/policies/best --suites nominal layout --episodes 10
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

from act.eval import PolicySpec, load_suite
from act.eval.bench import bench


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="act-bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "policies", nargs="*", help="policy directories (save_pretrained) or globs; NAME=DIR names one"
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
        help="suite overrides, e.g. episodes=5 'tasks=[ClickButton]'",
    )
    p.add_argument("--num-workers", type=int, default=None)
    p.add_argument("--latency-steps", type=int, default=50)
    p.add_argument("--out", default="outputs/bench")
    args = p.parse_args(argv)
    specs = []
    for item in args.policies:
        name, _, pattern = item.rpartition("=")
        paths = sorted(glob.glob(pattern)) or [pattern]
        for path in paths:
            if not (Path(path) / "config.json").is_file():
                print(f"act-bench: {path} is not a policy directory (no config.json)", file=sys.stderr)
                return 2
            label = name or "/".join(
                Path(path).parts[-4:-2] if "policies" in Path(path).parts else Path(path).parts[-1:]
            )
            specs.append(PolicySpec(label if label not in {s.name for s in specs} else path, "act", path))
    specs += [PolicySpec(b, b) for b in args.baselines]
    try:
        suites = [load_suite(s, args.set) for s in args.suites]
    except Exception as e:  # noqa: BLE001 - a bad suite name or override: say which
        print(f"act-bench: {e}", file=sys.stderr)
        return 2
    board = bench(specs, suites, args.out, num_workers=args.num_workers, latency_steps=args.latency_steps)
    print(board["text"])
    print(
        f"\nleaderboard: {Path(args.out) / 'leaderboard.md'}  json: {Path(args.out) / 'leaderboard.json'}  plot: {board['plot']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
