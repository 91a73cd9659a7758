"""c: both policies trained for the same wall-clock budget on the same stream, then rolled out."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_bench.actions import decode_flat
from lerobot_bench.worker import Client


def evaluate_same_budget(
    clients: dict[str, Client], data: dict[str, Any], args: argparse.Namespace, out: Path
) -> dict[str, Any]:
    """c: both trained for ``--budget`` seconds on the same stream, then rolled out on the same suite.

    Ours re-plans at every step (what act-demo evaluates); LeRobot is rolled out as it executes a chunk
    (all ``chunk_size`` steps open loop) and re-planning at every step, whichever does better."""
    from act.eval import EpisodeResult, Suite, run_episode, summarize
    from act.policy import ACTPolicy

    suite = Suite(
        name="bench_lerobot",
        tasks=data["stream"]["tasks"],
        episodes=args.eval_episodes,
        families=args.eval_families,
        severities=[0.5],
    )
    lrs = {"ours": args.eval_lr_ours, "lerobot": args.eval_lr}
    trained = {}
    for name, c in clients.items():
        print(f"[bench] c: training {name} for {args.budget:.0f} s at lr {lrs[name]:g}", flush=True)
        trained[name] = c.call(
            "train_for", seconds=args.budget, lr=lrs[name], save_to=str(out / f"policy_c_{name}")
        )
        print(
            f"[bench] c: {name}: {trained[name]['steps']} steps, "
            f"loss {trained[name]['loss_first'][0]:.3f} -> "
            f"{trained[name]['loss_last'][-1]:.3f}",
            flush=True,
        )
    ours = ACTPolicy.from_pretrained(out / "policy_c_ours")
    ours.config.temporal_ensemble_coeff, ours.config.n_action_steps = None, 1
    policies = {
        "ours": ours,
        "lerobot": LeRobotBridge(clients["lerobot"], data, ours),
        "lerobot_replan": LeRobotBridge(clients["lerobot"], data, ours, n_action_steps=1),
    }
    episodes: list[EpisodeResult] = []
    for name, policy in policies.items():
        t0 = time.perf_counter()
        for cond in suite.conditions():
            for env_id in suite.env_ids():
                for seed in suite.seeds():
                    episodes.append(
                        run_episode(
                            policy,
                            env_id,
                            seed,
                            cond.perturbation,
                            name=name,
                            condition=cond.name,
                            max_steps=args.eval_max_steps,
                        )
                    )
        print(f"[bench] c: rolled out {name} in {time.perf_counter() - t0:.0f} s", flush=True)
    summary = summarize(episodes, suite)
    table = {
        name: {cond: s["conditions"][cond]["success"] for cond in s["conditions"]}
        for name, s in summary.items()
    }
    families = {
        name: float(np.mean([v for c, v in t.items() if c != "nominal"])) for name, t in table.items()
    }
    errors = {name: sum(e.error is not None for e in episodes if e.policy == name) for name in summary}
    lines = [f"{'condition':20s} " + " ".join(f"{n:>15s}" for n in table)]
    for cond in table["ours"]:
        lines.append(f"{cond:20s} " + " ".join(f"{table[n][cond]:15.0%}" for n in table))
    lines.append(f"{'mean perturbed':20s} " + " ".join(f"{families[n]:15.0%}" for n in table))
    best = max(families["lerobot"], families["lerobot_replan"])
    lines.append(
        f"=> same budget ({args.budget:.0f} s each, same stream): ours {families['ours']:.0%} vs LeRobot "
        f"{best:.0%} averaged over the perturbed conditions (target: higher: "
        f"{'met' if families['ours'] > best else 'MISSED'})"
    )
    print("[bench] c: success per condition\n" + "\n".join(lines), flush=True)
    return {
        "train": trained,
        "lr": lrs,
        "success": table,
        "mean_over_families": families,
        "errors": errors,
        "suite": vars(suite),
        "summary": summary,
        "table": "\n".join(lines),
    }


class LeRobotBridge:
    """An act.eval policy (reset / select_action) whose chunks come from the LeRobot worker.

    Observations go through our policy's own preprocessing (resize to its image size, tokenise);
    LeRobot's continuous vector is decoded by argmax over the kind (and key) slots; ``n_action_steps``
    of each chunk are executed (None: all of it, as LeRobot's n_action_steps = chunk_size).
    """

    def __init__(self, client: Client, data: dict[str, Any], ours: Any, n_action_steps: int | None = None):
        self.client, self.ours, self.n_action_steps = client, ours, n_action_steps
        self.n_kinds, self.n_keys = data["num_kinds"], data["num_keys"]
        self.queue: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.queue = []

    def select_action(self, obs: dict[str, Any]) -> dict[str, Any]:
        if not self.queue:
            image, instruction = self.ours._observation(obs)
            chunk = np.asarray(
                self.client.call("act", image=image[0].tolist(), instruction=instruction[0].tolist())["chunk"]
            )
            d = decode_flat(chunk, self.n_kinds, self.n_keys)  # (K, ...) each
            self.queue = [
                {
                    "kind": int(d["kind"][i]),
                    "point": d["point"][i],
                    "point2": d["point2"][i],
                    "key": int(d["key"][i]),
                    "scroll": d["scroll"][i],
                }
                for i in range(len(chunk))
            ]
            self.queue = self.queue[: self.n_action_steps or len(self.queue)]
        return self.queue.pop(0)
