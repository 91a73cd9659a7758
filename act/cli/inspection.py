"""`act-inspect PATH`: validate a recording directory or a built dataset and summarise it."""

from __future__ import annotations

import argparse
import sys

from act.data import DatasetError
from act.data.inspection import format_summary, inspect_path
from act.recording import RecordingError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="act-inspect", description=__doc__)
    parser.add_argument("path", help="an episode directory, a directory of episodes, or a built dataset")
    parser.add_argument(
        "--out", help="where to write contact_sheet.png and summary.json (default PATH/inspect)"
    )
    parser.add_argument("--max-tiles", type=int, default=24)
    args = parser.parse_args(argv)
    try:
        summary = inspect_path(args.path, args.out, args.max_tiles)
    except RecordingError as e:
        print(f"act-inspect: {len(e.problems)} problem(s) in {args.path}:", file=sys.stderr)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    except (FileNotFoundError, DatasetError) as e:
        print(f"act-inspect: {e}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
