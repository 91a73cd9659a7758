"""Benchmark the ACT policy: parameters, train-step time and select_action latency.

    python scripts/bench_policy.py                 # default CPU config and the LeRobot-equivalent one
    python scripts/bench_policy.py --json out.json --train-steps 20 --act-steps 200

Train step: batch 8 (``--batch``), forward + backward + AdamW step (fused: one kernel over all
parameters, on CPU too) on a synthetic batch shaped like the ChunkDataset contract, instructions of
2-10 words as synthui writes them. select_action: batch 1, p50/p95 over ``--act-steps`` calls, both as
configured (action queue: most calls pop the queue) and with temporal ensembling (one model call
per step, the worst case). Timings on a shared machine are noisy: re-run when it is quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from act.policy import ACTConfig, ACTPolicy

VOCAB = [f"word{i}" for i in range(200)]
INTENTS = [f"intent {i}" for i in range(20)]


def synthetic_batch(config: ACTConfig, batch_size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors with the shapes and dtypes of the training batch contract."""
    g = torch.Generator().manual_seed(seed)
    b, k, (h, w) = batch_size, config.chunk_size, config.image_size
    n_words, n_kinds = len(config.instruction_vocab) + 2, len(config.action_space["kinds"])
    max_words = min(10, config.instruction_max_len)  # synthui instructions: "Click OK" ... ~10 words
    lengths = torch.randint(2, max_words + 1, (b, 1), generator=g)
    instruction = torch.randint(2, n_words, (b, config.instruction_max_len), generator=g)
    instruction[torch.arange(config.instruction_max_len)[None] >= lengths] = 0
    return {
        "image": torch.randint(0, 256, (b, 3, h, w), dtype=torch.uint8, generator=g),
        "instruction": instruction,  # (B, L), 0 = pad
        "kind": torch.randint(0, n_kinds, (b, k), generator=g),
        "point": torch.rand(b, k, 2, generator=g),
        "point2": torch.rand(b, k, 2, generator=g),
        "key": torch.randint(0, len(config.action_space["keys"]), (b, k), generator=g),
        "scroll": torch.randn(b, k, 2, generator=g),
        "is_pad": torch.arange(k)[None] >= torch.randint(1, k + 1, (b, 1), generator=g),
        "intent": torch.randint(0, len(INTENTS) + 2, (b,), generator=g),
        "episode_index": torch.arange(b),
        "step_index": torch.zeros(b, dtype=torch.long),
    }


def bench_train(policy: ACTPolicy, batch: dict[str, torch.Tensor], steps: int) -> list[float]:
    """Seconds per train step (forward, backward, AdamW step), after two warm-up steps."""
    policy.train()
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-4, weight_decay=1e-4, fused=True)
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        loss, _ = policy(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return times


def bench_select_action(policy: ACTPolicy, steps: int, ensemble: float | None) -> list[float]:
    """Seconds per select_action call at batch 1 on a fixed screen (reset every 100 calls)."""
    policy.config.temporal_ensemble_coeff = ensemble
    policy.eval()
    h, w = policy.config.image_size
    rng = np.random.default_rng(0)
    obs = {"screen": rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "instruction": "word1 word2 word3"}
    policy.reset()
    for _ in range(5):
        policy.select_action(obs)
    times = []
    for i in range(steps):
        if i % 100 == 0:
            policy.reset()
        t0 = time.perf_counter()
        policy.select_action(obs)
        times.append(time.perf_counter() - t0)
    return times


def run(name: str, config: ACTConfig, args: argparse.Namespace) -> dict[str, Any]:
    torch.manual_seed(0)
    policy = ACTPolicy(config)
    n_params = sum(p.numel() for p in policy.parameters())
    train = bench_train(policy, synthetic_batch(config, args.batch), args.train_steps)
    queue = bench_select_action(policy, args.act_steps, None)
    ensembled = bench_select_action(policy, args.act_steps, 0.01)
    ms = lambda xs, q: float(np.percentile(xs, q) * 1e3)  # noqa: E731
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "config": name,
        "params_m": n_params / 1e6,
        "image_size": list(config.image_size),
        "train_step_ms_p50": ms(train, 50),
        "train_step_ms_min": ms(train, 0),
        "batch": args.batch,
        "select_action_ms_p50": ms(queue, 50),
        "select_action_ms_p95": ms(queue, 95),
        "n_action_steps": config.n_action_steps,
        "select_action_ensembled_ms_p50": ms(ensembled, 50),
        "select_action_ensembled_ms_p95": ms(ensembled, 95),
        "load_average_1min": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configs", nargs="+", default=["default", "lerobot"], choices=["default", "lerobot"]
    )
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--act-steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = {
        "default": ACTConfig(instruction_vocab=VOCAB, intent_vocab=INTENTS),
        "lerobot": ACTConfig.lerobot_equivalent(instruction_vocab=VOCAB, intent_vocab=INTENTS),
    }
    results = []
    for name in args.configs:
        results.append(run(name, configs[name], args))
        r = results[-1]
        print(
            f"{name:8s} params {r['params_m']:6.2f}M  train step (batch {r['batch']}) "
            f"p50 {r['train_step_ms_p50']:7.1f} ms"
            f" (min {r['train_step_ms_min']:.1f})  select_action p50/p95 {r['select_action_ms_p50']:.2f}/"
            f"{r['select_action_ms_p95']:.2f} ms (queue of {r['n_action_steps']})  ensembled p50/p95 "
            f"{r['select_action_ensembled_ms_p50']:.2f}/{r['select_action_ensembled_ms_p95']:.2f} ms",
            flush=True,
        )
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {results[-1]['load_average_1min']:.2f}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}, indent=2
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
