"""Print an experiment's training losses (the demo's by default) over its first N steps, to check
that a refactor changes no numbers.

    python scripts/check_numerics.py --out before.json          # on the old code
    python scripts/check_numerics.py --compare before.json      # on the new code: exit 1 unless bitwise equal
    python scripts/check_numerics.py --experiment demo_typing   # another experiment config

One torch thread, seed 0, the demo's policy, optimiser and online stream, on a small recorded set
(2 episodes per task and perturbation) so the run takes about a minute on one CPU core.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir

import act

CONFIGS = str(Path(act.__file__).parent / "configs")


class _Losses(L.Callback):
    def __init__(self) -> None:
        self.losses: list[str] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self.losses.append(float(loss.detach()).hex())  # hex: exact bits, comparable as text


def run(steps: int, work: Path, experiment: str = "demo") -> list[str]:
    from act.training import register_configs, train

    register_configs()

    torch.set_num_threads(1)
    overrides = [
        f"experiment={experiment}",
        f"trainer.max_steps={steps}",
        "trainer.val_check_interval=null",
        "trainer.limit_val_batches=0",
        "data.generate.episodes=2",
        "data.generate.num_workers=1",
        "data.num_workers=0",
        "callbacks.closed_loop.episodes=0",
        f"paths.output_dir={work / 'out'}",
        f"paths.data_dir={work / 'data'}",
    ]
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    probe = _Losses()
    train(cfg, callbacks=[probe])
    return probe.losses


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--experiment", default="demo", help="the experiment config whose losses to print")
    parser.add_argument("--out", type=Path, help="write the losses here")
    parser.add_argument("--compare", type=Path, help="a file written by --out: exit 1 unless bitwise equal")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        losses = run(args.steps, Path(tmp), args.experiment)
    if args.out:
        args.out.write_text(json.dumps(losses, indent=0) + "\n")
    first, last = float.fromhex(losses[0]), float.fromhex(losses[-1])
    print(f"{len(losses)} steps, first loss {first:.6f}, last {last:.6f}")
    if args.compare:
        before = json.loads(args.compare.read_text())
        differ = [i for i, (a, b) in enumerate(zip(before, losses)) if a != b]
        if differ or len(before) != len(losses):
            first = differ[0] if differ else min(len(before), len(losses))
            print(f"DIFFERENT: {len(differ)} of {len(losses)} steps differ, the first at step {first}")
            return 1
        print(f"bitwise equal to {args.compare} over {len(losses)} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
