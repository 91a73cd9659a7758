"""Head-to-head with LeRobot's ACT on the same data, same machine, same run (issue 11).

    python scripts/bench_lerobot.py         # (or bash scripts/bench_lerobot.sh) set-up + a, b, profile
    python scripts/bench_lerobot.py --eval  # + c: both trained for the same wall-clock budget, evaluated

In one invocation:

1. ``.bench/lerobot-venv`` (git-ignored) gets torch==2.13.0, ``lerobot`` with ``--no-deps`` and only the
   packages that ``lerobot.policies.act.modeling_act`` imports (``LEROBOT_IMPORTS``, found by trying the
   import). torchvision cannot be installed beside torch 2.13.0 here, so a STAND-IN ``torchvision``
   (resnet18, IntermediateLayerGetter, FrozenBatchNorm2d, written in plain torch below) is generated into
   that venv only; LeRobot runs with ``pretrained_backbone_weights=None`` (no download), i.e. from scratch
   like ours. No LeRobot code is copied into this repository; ``act`` never imports the stand-in. The
   import skips ``lerobot/policies/__init__.py``, which eagerly imports every policy (groot -> diffusers).
2. synthui demonstrations -> a 96x96 dataset (``.bench/data``); fixed batches from ``ChunkDataset``; their
   actions flattened into LeRobot's continuous action vector (``flat_layout``).
3. One worker process per policy (ours in .venv, LeRobot's in the bench venv), run alternately (never
   together) round by round: a. train steps (forward, backward, grad-clip 10, AdamW) on the same batches,
   b. chunk prediction at batch 1. Warm-up is excluded; figures are medians over rounds, with the load
   average and CPU/wall time reported. 1 torch thread per worker by default (see ``--threads``).
   ``--variants`` adds workers with tweaks (``TWEAKS``: fused AdamW with the clip folded in, as act's
   trainer runs it; packed-weight CPU inference, fp32 or bf16; bf16; channels-last), to
   measure changes before/after under the same load.
4. torch.profiler over our train step (and LeRobot's, for contrast): top ops to ``--out``.
5. ``--eval``: both trained for the same wall-clock budget (``--budget``) on the same synthui stream
   (act's ExpertStream over act-demo's tasks and perturbation specs, same seeds, 120x160), each with
   its own batch size and learning rate and our trainer's warm-up + cosine schedule on the clock;
   ours at act-demo's CPU config (``--eval-ours demo``) or the LeRobot-equivalent one. Then rolled out
   with ``act.eval`` on the same suite, nominal and each family at 0.5; LeRobot's vector is decoded by
   argmax over the kind and key slots, executed as whole chunks and re-planning every step.

Writes ``--out``/results.json and prints the ratios ours / LeRobot. The code lives in
``scripts/lerobot_bench/`` (one module per part, listed in its ``__init__``); this file is the entry
point that the driver and both worker processes run.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/: lerobot_bench, also when imported

from lerobot_bench.actions import decode_flat, flat_dim, flat_layout, flatten_actions  # noqa: E402
from lerobot_bench.cli import main  # noqa: E402
from lerobot_bench.data import dataset_facts, make_batches, make_stream_data  # noqa: E402
from lerobot_bench.same_budget import LeRobotBridge, evaluate_same_budget  # noqa: E402
from lerobot_bench.standin import write_shim  # noqa: E402
from lerobot_bench.worker import Client, Worker  # noqa: E402

__all__ = [
    "Client",
    "LeRobotBridge",
    "Worker",
    "dataset_facts",
    "decode_flat",
    "evaluate_same_budget",
    "flat_dim",
    "flat_layout",
    "flatten_actions",
    "main",
    "make_batches",
    "make_stream_data",
    "write_shim",
]

if __name__ == "__main__":
    main(__doc__)
