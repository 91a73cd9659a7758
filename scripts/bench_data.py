"""Benchmark the data stage: dataset build frames/s and ChunkDataset samples/s (one worker).

    .venv/bin/python scripts/bench_data.py [--episodes 40 --steps 50 --size 128 --chunk 10]

Prints a table and writes bench_data.json in --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from act.data import ChunkDataset, build_dataset  # noqa: E402
from act.recording import EpisodeMeta, EpisodeWriter, Event, Screen  # noqa: E402


def make_recordings(root: Path, episodes: int, steps: int, screen: Screen) -> int:
    rng = np.random.default_rng(0)
    for e in range(episodes):
        meta = EpisodeMeta(f"bench-{e}", "synthui", "Bench", "click the named button", screen)
        with EpisodeWriter(root / f"ep_{e:04d}", meta) as w:
            for s in range(steps):
                w.add_frame(
                    rng.integers(0, 255, (screen.height, screen.width, 3), dtype=np.uint8), t=float(s)
                )
                w.add_event(
                    Event(
                        t=s + 0.5,
                        type="click",
                        x=float(rng.uniform(0, screen.width)),
                        y=float(rng.uniform(0, screen.height)),
                    )
                )
            w.finish(success=True)
    return episodes * steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=40)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--chunk", type=int, default=10)
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--samples", type=int, default=20000)
    p.add_argument("--out", default=".")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        frames = make_recordings(root / "rec", args.episodes, args.steps, Screen(320, 200))
        results = {}
        for num_proc in sorted({1, args.num_proc}):
            t0 = time.perf_counter()
            build_dataset(
                root / "rec", root / f"ds{num_proc}", image_size=(args.size, args.size), num_proc=num_proc
            )
            results[f"build_frames_per_s_num_proc_{num_proc}"] = frames / (time.perf_counter() - t0)
        ds = ChunkDataset(root / "ds1", chunk_size=args.chunk)
        order = np.random.default_rng(0).integers(0, len(ds), args.samples)
        ds[0]
        t0 = time.perf_counter()
        for i in order:
            ds[int(i)]
        results["chunk_samples_per_s_one_worker"] = args.samples / (time.perf_counter() - t0)
    results.update(vars(args))
    print(
        f"data benchmark: {args.episodes} episodes x {args.steps} steps, "
        f"320x200 frames -> {args.size}x{args.size}, chunk {args.chunk}"
    )
    for k, v in results.items():
        if k.endswith("per_s") or "per_s_" in k:
            print(f"  {k:40s} {v:10.0f}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "bench_data.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
