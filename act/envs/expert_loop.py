"""The expert loop of every env of this package: reset, then act and step until the episode ends.

Generation (``act.envs.generation``), the online stream (``act.training.online.ExpertStream``), the
macro baseline's rollouts (``act.envs.synthui.macro.run_expert``) and the contact sheet all run
their experts through ``ExpertSteps``, on synthui and MiniWoB++ alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from act.recording.schema import Action


class ExpertSteps:
    """One episode of ``env`` from ``reset(seed=seed)``, driven by ``expert`` (default: the env's own).

    Iterating runs the episode and yields ``(obs, action, info)`` per step: the observation and info
    the expert chose ``action`` from, before the env steps with it. When the iteration ends, ``obs``
    and ``info`` are the final ones (after the last step) and ``steps`` counts the actions taken.
    """

    def __init__(self, env: Any, seed: int, expert: Any = None):
        if expert is None:
            from act.envs import expert_for

            expert = expert_for(env)
        self.env, self.seed, self.expert = env, int(seed), expert
        self.obs: dict[str, Any] = {}
        self.info: dict[str, Any] = {}
        self.steps = 0

    def __iter__(self) -> Iterator[tuple[dict[str, Any], Action, dict[str, Any]]]:
        base = self.env.unwrapped
        self.obs, self.info = self.env.reset(seed=self.seed)
        self.steps = 0
        while True:
            action = self.expert.act(self.obs, self.info)
            yield self.obs, action, self.info
            self.obs, _, terminated, truncated, self.info = self.env.step(base.to_env_action(action))
            self.steps += 1
            if terminated or truncated:
                return

    @property
    def success(self) -> bool:
        """Whether the episode ended in success (read after the iteration)."""
        return bool(self.info.get("success"))
