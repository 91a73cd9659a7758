"""DAgger for synthui (Ross, Gordon and Bagnell, 2011): roll the current policy out, have the scripted
expert label the states it reaches, aggregate, retrain; ``act-dagger``'s work.

``dagger(cfg) -> summary``. Round 0 is ``train(cfg)`` on the expert demonstrations, as act-train
runs it. Round i >= 1 rolls round i-1's policy out on ``dagger.episodes_per_task`` episodes of each
task; at every step the env executes the expert's action with probability beta_i and the policy's
otherwise (``beta_schedule``). Every state the mixed rollout visits is recorded with the expert's
label for it (``collect``), as format-v1 recordings under ``<output_dir>/dagger/round_i/<task>/``:
their frames are the mixed rollout's screens, their actions the expert's, whoever acted. A policy
is then trained on the demonstrations and every round's recordings so far, and the next round
rolls that one out. ``<output_dir>/dagger_summary.json`` says, per round, the episodes, the expert
labels added, the policy's success during collection and the training time (rewritten after each
round, so an interrupted run shows what it did).

Retraining starts from scratch every round (DAgger's classic form), for ``dagger.retrain_steps``
steps: the aggregate's vocabularies (instruction words, key tokens, intents) grow with the new
episodes' instructions and labels, so the previous weights' embeddings and heads would not fit it
without remapping, and a fresh fit weighs every round's states alike.

Labels come from a careful expert (``labeller``): the scripted expert without its deliberate slips,
typos and detours, which teach recovery in demonstrations but would be wrong labels here. The
expert reads the element tree, so it acts from any state the policy leaves (a wrong menu open, a
box ticked wrongly, a slider moved, a wrong commit waiting for confirmation).

Layout under ``paths.output_dir``: round 0's run (checkpoints/, policies/, train_summary.json), and
``dagger/``: ``round_i/`` (the episodes), ``aggregate_i/`` (links to the demonstrations and rounds
1..i: what round i trains on), ``dataset_i/`` (its built dataset) and ``train_i/`` (its run).
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig, OmegaConf

from act.data import DatasetInfo
from act.envs.generation import Backend, record_episode
from act.eval.io_checks import ensure_writable
from act.eval.protocol import as_policy, select_action, start_episode
from act.training.config import DaggerConfig, DataConfig, TrainConfigError
from act.training.train import _generated_name, train

SUMMARY = "dagger_summary.json"
SEED_STRIDE = 10_000  # episode k of round i has seed dagger.seed + SEED_STRIDE * i + k
# synthui's backend, but meta.json's extra also gets the mixed rollout's "dagger" info (round,
# beta, who acted at each step) and names the labels' origin
BACKEND = Backend(
    "synthui",
    "act.envs.generate",
    "synthui",
    "scripted (DAgger labels)",
    final_info=("dagger",),
    options={"width": 160, "height": 120},
)


def beta_schedule(d: DaggerConfig) -> list[float]:
    """beta_i for rounds 0..d.rounds: the chance that round i's env executes the expert's action.

    beta_0 = 1: round 0's data are the demonstrations, the expert's alone. Then ``exponential``:
    beta_decay ** i; ``linear``: 1 - i / rounds (the last round is the policy's alone); ``betas``,
    when given, are rounds 1..rounds' values as they are.
    """
    if d.betas is not None:
        return [1.0, *(float(b) for b in d.betas)]
    if d.beta_schedule == "linear":
        return [1.0 - i / d.rounds for i in range(d.rounds + 1)]
    return [float(d.beta_decay) ** i for i in range(d.rounds + 1)]


def labeller(env: Any) -> Any:
    """The expert whose actions label DAgger's states: synthui's, without deliberate slips and typos."""
    from act.envs.synthui.expert import careful_expert

    return careful_expert(env)


class MixedEnv(gym.Wrapper):
    """Executes the action ``step`` is given (the expert's label) with probability ``beta``, else the
    policy's action for the same state.

    The policy is asked at every step (unless beta is 1), so its action queue and temporal ensemble
    advance as in a rollout of its own. ``reset`` starts the policy's episode too. Each step's info
    carries ``dagger``: the round, beta, and who acted at each step so far ("expert" / "policy").
    """

    def __init__(
        self,
        env: Any,
        policy: Any,
        beta: float,
        rng: np.random.Generator,
        round_index: int = 0,
        perturbation: str = "",
    ):
        super().__init__(env)
        self.policy = as_policy(policy)
        self._tell = getattr(policy, "executed", None)  # ACTPolicy: remembers the action that ran
        self.beta, self.rng, self.round_index = float(beta), rng, int(round_index)
        self.perturbation = perturbation
        self.executed: list[str] = []
        self._obs: dict[str, Any] = {}
        self._info: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        base = self.env.unwrapped
        env_id = f"synthui/{base.task_name}-v0"
        self._obs, self._info = start_episode(
            self.policy, self.env, env_id, int(seed or 0), self.perturbation
        )
        self.executed = []
        return self._obs, self._info

    def step(self, action: dict[str, Any]):
        by_expert = self.beta >= 1.0
        if not by_expert:
            policy_action = select_action(self.policy, self._obs, self._info)
            by_expert = bool(self.rng.random() < self.beta)
            if not by_expert:
                action = policy_action
            elif callable(self._tell):
                self._tell(action)  # what it remembers of its own actions follows what ran
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.executed.append("expert" if by_expert else "policy")
        self._obs, self._info = obs, info
        dagger = {"round": self.round_index, "beta": self.beta, "executed": list(self.executed)}
        return obs, reward, terminated, truncated, {**info, "dagger": dagger}


def collect(
    policy: Any,
    tasks: Sequence[str],
    perturbations: Sequence[str],
    episodes: int,
    out_dir: str | Path,
    *,
    beta: float,
    seed: int,
    round_index: int = 1,
    max_steps: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Roll ``policy`` out (mixed with the expert at ``beta``) on ``episodes`` episodes of each task and
    record the expert's labels at every visited state to ``out_dir/<task>/ep_<seed>``.

    Episode k of task t has seed ``seed + k`` and perturbation ``perturbations[k % len]``; whether
    the expert or the policy acts at a step is drawn from ``[seed, t, k]``. Every episode is kept,
    failed ones too: their states are the ones the policy gets wrong. Returns per-task and total
    counts: episodes, expert labels (recorded actions), steps the policy acted, successes.
    """
    from tqdm.auto import tqdm

    from act.envs.generation import episode_id
    from act.envs.synthui import SynthUIEnv

    out = Path(out_dir)
    by_task: dict[str, dict[str, Any]] = {}
    bar = tqdm(
        total=episodes * len(tasks), desc=f"DAgger round {round_index}", unit="ep", disable=not progress
    )
    try:
        for t, task in enumerate(tasks):
            s = by_task[task] = {"episodes": 0, "expert_labels": 0, "policy_steps": 0, "successes": 0}
            envs: dict[str, Any] = {}
            for k in range(episodes):
                spec = perturbations[k % len(perturbations)]
                if spec not in envs:
                    envs[spec] = SynthUIEnv(task, perturbation=spec or None, max_steps=max_steps)
                env = envs[spec]
                mixed = MixedEnv(env, policy, beta, np.random.default_rng([seed, t, k]), round_index, spec)
                eid = episode_id(BACKEND, task, spec, seed + k)
                eid = eid.replace("synthui-", f"synthui-dagger{round_index}-", 1)
                r = record_episode(
                    BACKEND, mixed, seed + k, out / task / f"ep_{seed + k:06d}", eid, expert=labeller(env)
                )
                s["episodes"] += 1
                s["expert_labels"] += r["steps"]
                s["policy_steps"] += mixed.executed.count("policy")
                s["successes"] += int(r["success"])
                bar.update()
    finally:
        bar.close()
    total = {k: sum(s[k] for s in by_task.values()) for k in ("episodes", "expert_labels", "policy_steps")}
    successes = sum(s["successes"] for s in by_task.values())
    return {
        **total,
        "successes": successes,
        "success_rate": round(successes / max(total["episodes"], 1), 4),
        "tasks": by_task,
    }


def _dagger_config(cfg: DictConfig) -> DaggerConfig:
    if cfg.get("dagger") is None:
        raise TrainConfigError("dagger: the config has no dagger section (compose the 'dagger' config)")
    d = cfg.dagger
    return d if isinstance(d, DaggerConfig) else OmegaConf.to_object(d)


def _originals(data: DataConfig, data_dir: str | Path) -> Path:
    """The demonstrations' directory, as ``prepare_dataset`` finds (or generates) it."""
    if data.recordings:
        return Path(data.recordings).resolve()
    return (Path(data_dir) / "recordings" / _generated_name(data.generate)).resolve()


def _tasks(d: DaggerConfig, default: Sequence[str]) -> list[str]:
    """dagger.tasks, or the demonstrations' tasks (``default``), as synthui task names; checked."""
    from act.envs.generate import resolve_tasks

    try:
        return resolve_tasks(list(d.tasks if d.tasks is not None else default))
    except ValueError as e:
        where = "" if d.tasks is not None else " (in the demonstrations: name synthui tasks to collect on)"
        raise TrainConfigError(f"dagger.tasks: {e}{where}") from e


def _specs(d: DaggerConfig, default: Sequence[str]) -> list[str]:
    """dagger.perturbations, or the demonstrations' specs (``default``), canonical; checked."""
    from act.envs.generate import check_spec

    try:
        return [check_spec(s or None) for s in (d.perturbations if d.perturbations is not None else default)]
    except ValueError as e:
        raise TrainConfigError(f"dagger.perturbations: {e}") from e


def _aggregate(root: Path, originals: Path, i: int) -> Path:
    """``root/aggregate_i``: links to the demonstrations and to rounds 1..i (what round i trains on)."""
    agg = root / f"aggregate_{i}"
    agg.mkdir()
    (agg / "demonstrations").symlink_to(originals, target_is_directory=True)
    for j in range(1, i + 1):
        (agg / f"round_{j}").symlink_to(Path("..") / f"round_{j}", target_is_directory=True)
    return agg


def _round_cfg(cfg: DictConfig, root: Path, agg: Path, i: int, d: DaggerConfig) -> DictConfig:
    """Round i's training config: cfg, on the aggregate, in its own run dir, from scratch."""
    rcfg = copy.deepcopy(cfg)
    rcfg.paths.output_dir = str(root / f"train_{i}")
    rcfg.data.recordings = str(agg)
    rcfg.data.dataset_dir = str(root / f"dataset_{i}")
    if "ckpt_path" in rcfg:
        rcfg.ckpt_path = None
    if d.retrain_steps is not None:
        rcfg.trainer.max_steps = int(d.retrain_steps)
    return rcfg


def _trained(summary: dict[str, Any], what: str) -> dict[str, Any]:
    if summary.get("policy_dir") is None:
        raise RuntimeError(
            f"{what} exported no policy (policies/last): act-dagger needs callbacks.export_policy"
        )
    keep = ("train/loss", "val/loss", "val/acc_kind", "val/success")
    return {
        "train_seconds": summary["train_seconds"],
        "global_step": summary["global_step"],
        "dataset_episodes": summary["episodes"],
        "dataset_steps": summary["steps"],
        "policy_dir": summary["policy_dir"],
        "metrics": {k: round(v, 4) for k, v in summary["metrics"].items() if k in keep},
    }


def _write(path: Path, summary: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(summary, indent=1) + "\n")
    os.replace(tmp, path)


def dagger(cfg: DictConfig) -> dict[str, Any]:
    """Round 0 = ``train(cfg)``; rounds 1..dagger.rounds: collect, aggregate, retrain. Returns the summary
    written to ``<paths.output_dir>/dagger_summary.json``."""
    from act.eval.policies import PolicySpec, load_policy

    d = _dagger_config(cfg)
    data_cfg: DataConfig = OmegaConf.to_object(cfg.data)
    if data_cfg.online:
        raise TrainConfigError(
            "data.online: DAgger aggregates recorded episodes and trains on them; set data.online: false"
        )
    out = ensure_writable(cfg.paths.output_dir, "paths.output_dir")
    root = out / "dagger"
    if root.exists() and any(root.iterdir()):
        raise TrainConfigError(
            f"paths.output_dir: {root} holds an earlier DAgger run's rounds; choose a new "
            "paths.output_dir (nothing was deleted)"
        )
    betas = beta_schedule(d)
    if d.tasks is not None:  # what the config names is checked before round 0's training
        _tasks(d, [])
    if d.perturbations is not None:
        _specs(d, [])
    originals = _originals(data_cfg, cfg.paths.data_dir)

    _, objects = train(cfg)
    first = objects["summary"]
    info = DatasetInfo.load(first["dataset"])
    tasks = _tasks(d, list(info.tasks))
    specs = _specs(
        d, list(dict.fromkeys(e.get("perturbation", {}).get("spec", "") for e in info.episodes)) or [""]
    )
    root.mkdir(exist_ok=True)
    summary: dict[str, Any] = {
        "output_dir": str(out),
        "rounds": d.rounds,
        "retrain": "scratch",
        "betas": [round(b, 6) for b in betas],
        "tasks": tasks,
        "perturbations": specs,
        "episodes_per_task": d.episodes_per_task,
        "demonstration_labels": info.num_steps,
        "expert_labels": 0,
        "per_round": [
            {
                "round": 0,
                "beta": 1.0,
                "episodes": info.num_episodes,
                "expert_labels": info.num_steps,
                **_trained(first, "round 0"),
            }
        ],
    }
    summary["policy_dir"] = first["policy_dir"]
    _write(out / SUMMARY, summary)
    for i in range(1, d.rounds + 1):
        policy = load_policy(PolicySpec(f"round_{i - 1}", "act", summary["policy_dir"]))
        start = time.perf_counter()
        got = collect(
            policy,
            tasks,
            specs,
            d.episodes_per_task,
            root / f"round_{i}",
            beta=betas[i],
            seed=d.seed + SEED_STRIDE * i,
            round_index=i,
            max_steps=d.max_steps,
        )
        collect_seconds = round(time.perf_counter() - start, 2)
        del policy
        _, objects = train(_round_cfg(cfg, root, _aggregate(root, originals, i), i, d))
        entry = {
            "round": i,
            "beta": round(betas[i], 6),
            "episodes": got["episodes"],
            "expert_labels": got["expert_labels"],
            "policy_steps": got["policy_steps"],
            "policy_success": got["success_rate"],
            "success_by_task": {
                t: round(s["successes"] / max(s["episodes"], 1), 4) for t, s in got["tasks"].items()
            },
            "collect_seconds": collect_seconds,
            **_trained(objects["summary"], f"round {i}"),
        }
        summary["per_round"].append(entry)
        summary["expert_labels"] += got["expert_labels"]
        summary["policy_dir"] = entry["policy_dir"]
        _write(out / SUMMARY, summary)
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """One screen: a row per round (beta, episodes, labels, the policy's share and success, training)."""
    rows = summary["per_round"]
    metric = next((k for k in ("val/success", "val/loss") if any(k in r["metrics"] for r in rows)), None)
    lines = [
        f"DAgger: {summary['rounds']} round(s) on {len(summary['tasks'])} task(s), "
        f"{summary['episodes_per_task']} episodes per task a round, retrained from scratch each round",
        f"{'round':>5} {'beta':>6} {'episodes':>8} {'labels':>7} {'policy acted':>12} {'success':>8} "
        f"{'train s':>8} {'steps':>6}" + (f" {metric:>10}" if metric else ""),
    ]
    for r in rows:
        acted = f"{r['policy_steps'] / max(r['expert_labels'], 1):.0%}" if "policy_steps" in r else "-"
        success = f"{r['policy_success']:.2f}" if "policy_success" in r else "-"
        value = r["metrics"].get(metric) if metric else None
        lines.append(
            f"{r['round']:>5} {r['beta']:>6.3f} {r['episodes']:>8} {r['expert_labels']:>7} {acted:>12} "
            f"{success:>8} {r['train_seconds']:>8} {r['global_step']:>6}"
            + (f" {value:>10.4g}" if value is not None else (" " * 11 if metric else ""))
        )
    lines += [
        f"expert labels added: {summary['expert_labels']} "
        f"(the demonstrations hold {summary['demonstration_labels']})",
        "success: the mixed rollouts' during collection (the policy acted that share of steps)",
        f"  policy: {summary['policy_dir']}",
        f"  summary: {Path(summary['output_dir']) / SUMMARY}",
    ]
    return "\n".join(lines)
