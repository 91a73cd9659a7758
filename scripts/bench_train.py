"""Benchmark training throughput through the real stack (ChunkDataset -> Lightning -> ACTPolicy).

    .venv/bin/python scripts/bench_train.py [--steps 30 --batch 8 --configs default lerobot]

For each policy config: a small synthui dataset is generated and built at the policy's image size,
then ``--steps`` optimiser steps run under Lightning on the CPU (after ``--warmup`` steps); prints
samples/s and ms/step and writes bench_train.json in --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lightning as L  # noqa: E402
import torch  # noqa: E402

from act.data import ActDataModule, DatasetInfo, build_dataset  # noqa: E402
from act.envs.generate import generate  # noqa: E402
from act.policy import ACTConfig  # noqa: E402
from act.training import ActLightningModule, OptimConfig  # noqa: E402

CONFIGS = {"default": ACTConfig, "lerobot": ACTConfig.lerobot_equivalent}


class StepTimer(L.Callback):
    def __init__(self, warmup: int):
        self.warmup, self.times, self._t0 = warmup, [], 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step > self.warmup:
            self.times.append(time.perf_counter() - self._t0)


def run(name: str, root: Path, steps: int, warmup: int, batch: int) -> dict:
    config = CONFIGS[name]()
    h, w = config.image_size
    data = root / f"ds-{h}x{w}"
    if not data.exists():
        build_dataset(root / "rec", data, image_size=(h, w))
    config = config.with_dataset_info(vars(DatasetInfo.load(data)))
    dm = ActDataModule(data, chunk_size=config.chunk_size, batch_size=batch, val_fraction=0.0)
    module = ActLightningModule(config, OptimConfig())
    timer = StepTimer(warmup)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=steps + warmup,
        logger=False,
        callbacks=[timer],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=dm)
    per_step = sorted(timer.times)[len(timer.times) // 2]
    return {
        "config": name,
        "batch": batch,
        "parameters": sum(p.numel() for p in module.policy.parameters()),
        "ms_per_step_p50": per_step * 1e3,
        "samples_per_s": batch / per_step,
        "wall_s": time.perf_counter() - start,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=["default", "lerobot"], choices=list(CONFIGS))
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--out", default=".")
    args = p.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(["ClickButton", "MenuItem", "Login"], 10, None, 0, root / "rec", 1, progress=False)
        for name in args.configs:
            results.append(run(name, root, args.steps, args.warmup, args.batch))
            r = results[-1]
            print(
                f"{name:8s} {r['parameters'] / 1e6:6.2f}M params  batch {r['batch']}  "
                f"{r['ms_per_step_p50']:7.1f} ms/step  {r['samples_per_s']:7.1f} samples/s  "
                f"({r['threads']} threads)"
            )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "bench_train.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
