"""What a rollout may call on a policy: the ``Policy`` protocol, its no-op defaults, and one episode's start.

A policy must have ``reset()`` and ``select_action(obs)``. The hooks ``begin_episode``, ``bind``,
``explain``, the flag ``needs_info`` and the counter ``policy_calls`` are part of the protocol too;
``PolicyDefaults`` gives them as no-ops (``policy_calls`` None), and ``as_policy`` wraps an object
that lacks some (a test double, a third-party controller) so that rollouts call every hook
unconditionally.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Policy(Protocol):
    """The calls a rollout makes, in order: ``begin_episode``, ``reset``, (env reset), ``bind``, then per
    step ``explain`` (first step, when asked) and ``select_action``."""

    # True: the rollout calls select_action(obs, info) with the env's info dict (the scripted expert).
    needs_info: bool
    # Chunks planned (model calls) since reset(), read at the episode's end; None for a policy that
    # plans no chunks (the baselines).
    policy_calls: int | None

    def begin_episode(self, env_id: str, seed: int, perturbation: str) -> None:
        """Which episode starts, before reset (a replaying macro needs the seed)."""

    def reset(self) -> None:
        """Forget the last episode's state (action queues, ensemblers)."""

    def bind(self, env: Any) -> None:
        """The env this episode runs in, after its reset (the expert reads its element tree)."""

    def select_action(self, obs: dict[str, Any]) -> dict[str, Any]:
        """One env action; called as select_action(obs, info) when ``needs_info``."""

    def explain(self, obs: dict[str, Any]) -> object | None:
        """What the policy plans from ``obs``, for reports; None when it cannot say."""


@runtime_checkable
class ChunkPolicy(Protocol):
    """A policy that plans a chunk per model call and has parameters (``ACTPolicy``): benchmarks time
    the model call and count parameters for these."""

    def predict_chunk(self, obs: dict[str, Any]) -> dict[str, Any]: ...

    def parameters(self) -> Any: ...


class PolicyDefaults:
    """No-op defaults for the optional hooks of ``Policy``: baselines inherit it, override what they use."""

    needs_info = False
    policy_calls: int | None = None

    def begin_episode(self, env_id: str, seed: int, perturbation: str) -> None:
        pass

    def bind(self, env: Any) -> None:
        pass

    def explain(self, obs: dict[str, Any]) -> object | None:
        return None


class _WithDefaults(PolicyDefaults):
    """An object with only some of the hooks, seen through ``Policy``: what it has is called, the rest
    are ``PolicyDefaults``' no-ops."""

    def __init__(self, policy: Any):
        self.policy = policy
        self.needs_info = bool(getattr(policy, "needs_info", False))
        for name in ("begin_episode", "bind", "explain"):
            hook = getattr(policy, name, None)
            if hook is not None:
                setattr(self, name, hook)

    @property
    def policy_calls(self) -> int | None:  # type: ignore[override]
        return getattr(self.policy, "policy_calls", None)

    def reset(self) -> None:
        self.policy.reset()

    def select_action(self, obs: dict[str, Any], *info: Any) -> dict[str, Any]:
        return self.policy.select_action(obs, *info)


def as_policy(policy: Any) -> Policy:
    """``policy`` itself when it has the whole protocol, else a view that adds the missing no-op hooks."""
    if isinstance(policy, Policy):
        return policy
    if not callable(getattr(policy, "select_action", None)) or not callable(getattr(policy, "reset", None)):
        raise TypeError(f"{type(policy).__name__} is not a policy: it needs reset() and select_action(obs)")
    return _WithDefaults(policy)


def start_episode(
    policy: Policy, env: Any, env_id: str, seed: int, perturbation: str = ""
) -> tuple[Any, Any]:
    """Begin an episode: begin_episode, reset, env.reset(seed), bind -> the env's first (obs, info)."""
    policy.begin_episode(env_id, int(seed), perturbation or "")
    policy.reset()
    obs, info = env.reset(seed=int(seed))
    policy.bind(env)
    return obs, info


def select_action(policy: Policy, obs: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """One action, with the env's info for a policy that ``needs_info``."""
    return policy.select_action(obs, info) if policy.needs_info else policy.select_action(obs)
