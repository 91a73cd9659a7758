"""Everything an evaluation can run behind one interface: ``reset()``, ``select_action(obs)``.

An optional ``begin_episode(env_id, seed, perturbation)`` tells a policy which episode starts (the
macro needs the seed to know which demonstration to replay). ``PolicySpec`` is the picklable recipe
that worker processes load a policy from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("act", "macro", "random", "expert")
# PolicySpec.cpu_inference: plain, or ACTPolicy.optimize_for_cpu in that precision
CPU_INFERENCE = (None, "fp32", "bf16")


@dataclass(frozen=True)
class PolicySpec:
    """``kind``: act (a save_pretrained dir at ``path``), macro, random or expert.

    For act: ``execution`` sets how chunks execute ("replan", "chunk:N", "ensemble:M", "adaptive",
    "adaptive:T" or "adaptive:T:C", ``act.policy.execution``; None keeps the saved setting) and then
    ``ensemble`` must not ensemble; ``ensemble`` sets temporal_ensemble_coeff (None keeps the saved
    setting, a negative value turns ensembling off), ``n_action_steps`` overrides open-loop steps per
    chunk (both drop a saved ``execution`` that would override them), ``cpu_inference`` "fp32" or
    "bf16" runs it through ``ACTPolicy.optimize_for_cpu`` (packed weights; bf16 copies halve the
    bytes a chunk reads).
    """

    name: str
    kind: str = "act"
    path: str | None = None
    ensemble: float | None = None
    n_action_steps: int | None = None
    cpu_inference: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    execution: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"policy {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "act" and not self.path:
            raise ValueError(f"policy {self.name!r}: an act policy needs a path (a save_pretrained dir)")
        if self.cpu_inference not in CPU_INFERENCE:
            raise ValueError(
                f"policy {self.name!r}: cpu_inference {self.cpu_inference!r} is not one of {CPU_INFERENCE}"
            )
        if self.execution is not None:
            from act.policy.execution import parse_execution

            parse_execution(self.execution, name=f"policy {self.name!r}: execution")  # its syntax
            if self.ensemble is not None and self.ensemble >= 0:
                raise ValueError(
                    f"policy {self.name!r}: execution {self.execution!r} and ensemble {self.ensemble} both "
                    f"say how chunks execute; set one (execution='ensemble:{self.ensemble:g}' ensembles)"
                )


class EvalSetupError(ValueError):
    """What an evaluation was asked to run cannot run (a missing or refused policy, an unknown task):
    raised before any episode, the message naming the policy, path or task."""


def policy_specs_from_config(cfg: Mapping[str, Any]) -> list[PolicySpec]:
    """The policies an act-eval config names, in table order: ACT, ACT+ensemble, BC, others, baselines.

    ``cfg``: the composed eval config (or a dict with its keys). A bad value raises ValueError naming the key.
    """
    specs = []
    cpu = cfg.get("cpu_inference")
    if cpu not in CPU_INFERENCE:
        names = ", ".join("null" if c is None else c for c in CPU_INFERENCE)
        raise ValueError(f"cpu_inference: {cpu!r} is not one of {names}")
    policy, name, ensemble = cfg.get("policy"), str(cfg.get("name") or "act"), cfg.get("ensemble")
    execution = cfg.get("execution")
    # one strategy: the policy's row runs it; a list: one row per strategy, named <name>@<strategy>
    strategies = [execution] if execution is None or isinstance(execution, str) else list(execution)
    for s in strategies:
        if s is not None:
            from act.policy.execution import parse_execution

            parse_execution(s, name="execution")
    if execution is not None and not policy:
        raise ValueError(f"execution: {execution} needs policy=DIR (the policy to execute)")
    if policy:
        for s in strategies:
            label = name if len(strategies) == 1 or s is None else f"{name}@{s}"
            specs.append(PolicySpec(label, "act", str(policy), ensemble=-1.0, cpu_inference=cpu, execution=s))
        if ensemble is not None:
            m = float(ensemble)
            specs.append(PolicySpec(f"{name}+ens{m:g}", "act", str(policy), ensemble=m, cpu_inference=cpu))
    elif ensemble is not None:
        raise ValueError(f"ensemble: {ensemble} needs policy=DIR (the policy to ensemble)")
    if cfg.get("bc"):
        specs.append(PolicySpec("bc", "act", str(cfg["bc"]), cpu_inference=cpu))
    for key, path in (cfg.get("policies") or {}).items():
        specs.append(PolicySpec(str(key), "act", str(path), cpu_inference=cpu))
    for b in cfg.get("baselines") or []:
        if str(b) not in KINDS[1:]:
            raise ValueError(f"baselines: {b!r} is not one of {list(KINDS[1:])}")
        specs.append(PolicySpec(str(b), str(b)))
    if not specs:
        raise ValueError("nothing to evaluate: set policy=DIR and/or baselines=[macro,random]")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be unique (name, policies, baselines), got {names}")
    return specs


def check_policy(spec: PolicySpec) -> None:
    """Raise EvalSetupError (naming the policy and its path) if ``spec`` would not load in a worker.

    An act policy is loaded once here, in full (config.json refusals, weights format and shapes), with
    the global torch RNG restored afterwards so the check changes no numbers of the caller's.
    """
    if spec.kind != "act":
        return
    path = Path(str(spec.path))
    if not path.is_dir():
        raise EvalSetupError(
            f"policy {spec.name!r}: {path} is not a directory "
            "(expected a save_pretrained dir with config.json and model.safetensors)"
        )
    import torch

    from act.policy import ACTPolicy

    try:
        with torch.random.fork_rng(devices=[]):
            chunk_size = ACTPolicy.from_pretrained(path, device="cpu").config.chunk_size
    except Exception as e:  # noqa: BLE001 - whatever the loader refuses, say so before any episode
        raise EvalSetupError(f"policy {spec.name!r}: {path} is refused: {type(e).__name__}: {e}") from e
    if spec.n_action_steps is not None and not 1 <= spec.n_action_steps <= chunk_size:
        raise EvalSetupError(
            f"policy {spec.name!r}: n_action_steps {spec.n_action_steps} must be in "
            f"[1, chunk_size={chunk_size}] of {path}"
        )
    if spec.execution is not None:
        from act.policy.execution import parse_execution

        try:
            parse_execution(spec.execution, chunk_size)
        except ValueError as e:
            raise EvalSetupError(f"policy {spec.name!r}: {e} of {path}") from e


def load_policy(spec: PolicySpec) -> Any:
    """Build the policy a spec describes (on the CPU, in eval mode)."""
    if spec.kind == "random":
        return RandomPolicy(**spec.options)
    if spec.kind == "macro":
        return MacroPolicy(**spec.options)
    if spec.kind == "expert":
        return ExpertPolicy(**spec.options)

    from act.policy import ACTPolicy

    policy = ACTPolicy.from_pretrained(spec.path, device="cpu")
    if spec.ensemble is not None:
        policy.config.temporal_ensemble_coeff = None if spec.ensemble < 0 else float(spec.ensemble)
    if spec.n_action_steps is not None:
        policy.config.n_action_steps = int(spec.n_action_steps)
    saved = policy.config.execution
    if spec.execution is not None:  # the one setting for how chunks execute: it replaces the saved one
        policy.config.execution, policy.config.temporal_ensemble_coeff = spec.execution, None
    elif saved is not None:  # it would override the older fields: drop it where they ask otherwise
        asks_ensemble = spec.ensemble is not None and spec.ensemble >= 0
        ensembling_off = spec.ensemble is not None and spec.ensemble < 0 and saved.startswith("ensemble")
        if asks_ensemble or ensembling_off or spec.n_action_steps is not None:
            policy.config.execution = None
    if spec.cpu_inference is not None:  # on a CPU without bf16 instructions, bf16 warns and packs fp32
        policy.optimize_for_cpu(bf16=spec.cpu_inference == "bf16")
    policy.reset()
    policy.requires_grad_(False)  # its own parameters only: no process-wide autograd switch
    return policy


class RandomPolicy:
    """The floor: a uniformly random kind, point and key every step."""

    def __init__(self, seed: int = 0):
        from act.spaces.action_space import ActionSpace

        self.space = ActionSpace()
        self.rng = np.random.default_rng(seed)

    def begin_episode(self, env_id: str, seed: int, perturbation: str) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        pass

    def select_action(self, obs: dict[str, Any]) -> dict[str, Any]:
        kinds = ["click", "click", "click", "double_click", "drag", "scroll", "key", "key"]
        kind = self.space.kinds.index(kinds[self.rng.integers(len(kinds))])
        return {
            "kind": kind,
            "point": self.rng.random(2).astype(np.float32),
            "point2": self.rng.random(2).astype(np.float32),
            "key": int(self.rng.integers(2, 97)),
            "scroll": np.array([0, self.rng.choice([-2, 2])], np.float32),
        }


def _expert_episode(env_id: str, seed: int, text_split: str | None = None) -> tuple[list, int, int]:
    """The nominal expert's actions for this seed (a recorded demonstration of the task instance, with
    the same strings: ``text_split`` of the env it will replay in)."""
    from act.envs import expert_for, make
    from act.envs.synthui.macro import run_expert

    kwargs: dict[str, Any] = {}
    if env_id.startswith("synthui/"):
        kwargs = {"headless": True, **({"text_split": text_split} if text_split else {})}
    env = make(env_id, perturbation=None, **kwargs)
    try:
        rollout = run_expert(env, seed, expert=expert_for(env))
        return rollout.actions, env.unwrapped.width, env.unwrapped.height
    finally:
        env.close()


class MacroPolicy:
    """RPA-style replay: the nominal demonstration's coordinates and keys for this seed, blind.

    With ``recordings`` (a directory of episodes whose meta.extra.seed and task match), replays those;
    otherwise it records the demonstration by running the scripted expert in the unperturbed env.
    """

    def __init__(self, recordings: str | None = None):
        self.recordings = recordings
        self._by_key: dict[tuple[str, int], Any] | None = None
        self.actions: list[dict[str, Any]] = []

    def _recorded(self, env_id: str, seed: int):
        from act.recording import find_episodes, read_episode
        from act.spaces.action_space import ActionSpace

        if self._by_key is None:
            self._by_key = {}
            for path in find_episodes(self.recordings):
                ep = read_episode(path)
                if not ep.meta.perturbation.get("spec"):
                    self._by_key[(ep.meta.task, int(ep.meta.extra.get("seed", -1)))] = ep
        task = env_id.split("/")[-1].rsplit("-v", 1)[0]
        ep = self._by_key.get((task, seed))
        if ep is None:
            raise KeyError(f"macro: no nominal recording of {task} with seed {seed} under {self.recordings}")
        space, s = ActionSpace(), ep.meta.screen
        return [space.to_env(a, s.width, s.height) for a in ep.actions()]

    def begin_episode(self, env_id: str, seed: int, perturbation: str) -> None:
        self.env_id, self.seed = env_id, seed

    def reset(self) -> None:
        pass

    def bind(self, env: Any) -> None:
        """Load or record the demonstration: at bind, where the env (and its text split) is known."""
        from act.spaces.action_space import ActionSpace

        if self.recordings:
            self.actions = self._recorded(self.env_id, self.seed)
        else:
            split = getattr(env.unwrapped, "text_split", None)
            actions, w, h = _expert_episode(self.env_id, self.seed, split)
            space = ActionSpace()
            self.actions = [space.to_env(a, w, h) for a in actions]
        self.actions.reverse()

    def select_action(self, obs: dict[str, Any]) -> dict[str, Any]:
        if self.actions:
            return self.actions.pop()
        return {
            "kind": 0,
            "point": np.zeros(2, np.float32),
            "point2": np.zeros(2, np.float32),
            "key": 0,
            "scroll": np.zeros(2, np.float32),
        }


class ExpertPolicy:
    """The scripted expert with access to the element tree: the ceiling, not a baseline to beat."""

    needs_info = True

    def __init__(self) -> None:
        self.expert = None

    def begin_episode(self, env_id: str, seed: int, perturbation: str) -> None:
        self.seed = seed

    def reset(self) -> None:
        pass

    def bind(self, env: Any) -> None:
        from act.envs import expert_for

        self.expert = expert_for(env)
        self.expert.reset(self.seed)
        self.env = env

    def select_action(self, obs: dict[str, Any], info: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.env.unwrapped.to_env_action(self.expert.act(obs, info))
