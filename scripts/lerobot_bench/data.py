"""The bench's data: the 96x96 dataset and fixed batches (a, b), the stream description (c)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from lerobot_bench import ROOT
from lerobot_bench.actions import flatten_actions


def ensure_dataset(root: Path, episodes: int, seed: int) -> Path:
    """synthui expert demonstrations of every task -> a 96x96 dataset (cached by its parameters)."""
    out = root / f"synthui96_{episodes}ep_s{seed}"
    if (out / "act_dataset.json").is_file():
        return out
    from act.data import build_dataset
    from act.envs.generate import generate

    recordings = root / f"recordings_{episodes}ep_s{seed}"
    generate("synthui", episodes, seed=seed, out_dir=recordings, num_workers=1, progress=False)
    build_dataset(recordings, out, image_size=(96, 96), overwrite=True)
    return out


def make_batches(dataset: Path, chunk: int, batch: int, n: int, seed: int, path: Path) -> dict[str, Any]:
    """Draw ``n`` shuffled batches from ChunkDataset, add the flat LeRobot actions, save them for both
    workers."""
    from torch.utils.data import DataLoader

    from act.data import ChunkDataset

    ds = ChunkDataset(dataset, chunk)
    n_kinds, n_keys = len(ds.info.action_space["kinds"]), len(ds.info.action_space["keys"])
    loader = DataLoader(
        ds, batch_size=batch, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(seed)
    )
    batches = []
    while len(batches) < n:
        for b in loader:
            b["action"] = flatten_actions(b, n_kinds, n_keys)  # (B, K, A)
            batches.append(b)
            if len(batches) == n:
                break
    data = {"batches": batches, **dataset_facts(ds)}
    torch.save(data, path)
    return data


def dataset_facts(ds: Any) -> dict[str, Any]:
    """What both workers need of a ChunkDataset: its info, and per-dimension statistics of the flat
    action vector over every step (LeRobot's MEAN_STD normalisation)."""
    info = ds.info
    n_kinds, n_keys = len(info.action_space["kinds"]), len(info.action_space["keys"])
    rows = {
        "kind": torch.as_tensor(ds.actions["kind"]).long()[:, None],
        "key": torch.as_tensor(ds.actions["key"]).long()[:, None],
        "is_pad": torch.zeros(len(ds.episode), 1, dtype=torch.bool),
        **{k: torch.as_tensor(ds.actions[k]).float()[:, None] for k in ("point", "point2", "scroll")},
    }
    flat = flatten_actions(rows, n_kinds, n_keys)[:, 0]  # (N, A)
    return {
        "info": {
            k: getattr(info, k)
            for k in (
                "image_size",
                "action_space",
                "instruction_vocab",
                "intent_vocab",
                "instruction_max_len",
                "num_episodes",
                "num_steps",
            )
        },
        "action_mean": flat.mean(0),
        "action_std": flat.std(0),
        "num_kinds": n_kinds,
        "num_keys": n_keys,
    }


def demo_setup() -> tuple[dict[str, Any], list[str], list[str]]:
    """Our demo's policy config (act/configs/experiment/demo.yaml) and its tasks and perturbation specs."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from act.training import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "act" / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=demo"])
    policy = OmegaConf.to_container(cfg.policy, resolve=True)
    return policy, list(cfg.data.generate.tasks), list(cfg.data.generate.perturbations)


def make_stream_data(root: Path, args: argparse.Namespace, path: Path) -> dict[str, Any]:
    """c's data: both workers draw batches from the same ExpertStream (same tasks, perturbation specs and
    seeds) over the demo's tasks at synthui's native 120x160; a small recorded dataset gives the
    vocabularies and the action statistics. Ours trains at the demo's policy config (``--eval-ours demo``)
    or at the LeRobot-equivalent one (``equal``)."""
    from act.data import ChunkDataset, build_dataset
    from act.envs.generate import generate

    policy, tasks, perturbations = demo_setup()
    out = root / f"stream_{'+'.join(tasks)}_{args.eval_vocab_episodes}ep_s{args.seed}"
    if not (out / "act_dataset.json").is_file():
        recordings = root / f"recordings_{out.name}"
        generate(
            tasks, args.eval_vocab_episodes, seed=args.seed, out_dir=recordings, num_workers=1, progress=False
        )
        build_dataset(recordings, out, image_size=(120, 160), overwrite=True)
    data = {
        "batches": [],
        **dataset_facts(ChunkDataset(out, 20)),
        "stream": {
            "dataset": str(out),
            "tasks": tasks,
            "perturbations": perturbations,
            "seed": args.seed,
            "batch": {"ours": args.eval_batch_ours, "lerobot": args.batch},
        },
        "ours_policy": policy if args.eval_ours == "demo" else None,
    }
    torch.save(data, path)
    return data
