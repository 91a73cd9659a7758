"""``act-record``: record one desktop episode (screen, mouse, keyboard) into recording format v1.

    act-record --out data/recordings/login --task Login --instruction "Log in as alice" [--fps 5]
               [--region x,y,w,h] [--duration s] [--stop-key ctrl+shift+q] [--redact-typing]

Each run adds ``OUT/ep_NNNNNN``. A summary goes to stderr, one JSON line (path and stats) to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from act.eval.io_checks import NotWritableError, ensure_writable
from act.recorder import RecordConfig, RecorderError, parse_region, record


def _region(text: str) -> tuple[int, int, int, int]:
    try:
        return parse_region(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="act-record", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="directory that collects the episodes (ep_NNNNNN)")
    p.add_argument("--task", required=True, help="task name, e.g. Login")
    p.add_argument("--instruction", required=True, help="the natural-language goal of this episode")
    p.add_argument(
        "--fps",
        type=_positive,
        default=5.0,
        help="periodic frames per second (default 5); a frame is also taken at every click and key press",
    )
    p.add_argument(
        "--region", type=_region, help="x,y,width,height in logical pixels (default: primary monitor)"
    )
    p.add_argument("--duration", type=_positive, help="stop after this many seconds")
    p.add_argument(
        "--stop-key", default="ctrl+shift+q", help="hotkey that stops recording (default ctrl+shift+q)"
    )
    p.add_argument("--redact-typing", action="store_true", help="write typed characters as '*'")
    p.add_argument(
        "--keep-unchanged",
        action="store_true",
        help="write periodic frames even when the screen did not change",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cfg = RecordConfig(
        out=args.out,
        task=args.task,
        instruction=args.instruction,
        fps=args.fps,
        region=args.region,
        duration=args.duration,
        stop_key=args.stop_key,
        redact_typing=args.redact_typing,
        keep_unchanged=args.keep_unchanged,
    )
    try:
        ensure_writable(args.out, "--out")  # before the session, so no recording is lost at the end
        result = record(cfg)
    except (NotWritableError, RecorderError, ValueError, FileExistsError) as e:
        print(f"act-record: error: {e}", file=sys.stderr)
        return 1
    s = result.stats
    print(
        f"act-record: saved {result.path}: {s['frames']} frames ({s['press_frames']} at presses), "
        f"{s['events']} events, {s['duration_s']:.1f} s, stopped by {s['stopped_by']}.",
        file=sys.stderr,
    )
    print(json.dumps({"episode": str(result.path), **s}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
