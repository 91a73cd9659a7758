"""synthui: a built-in desktop-like UI simulator (numpy/PIL), its tasks, experts and macro replay.

Envs are registered with gymnasium as ``synthui/<Task>-v0`` when ``act.envs`` is imported::

    import gymnasium, act.envs
    env = gymnasium.make("synthui/ClickButton-v0", perturbation="theme:0.5")
"""

from act.envs.synthui.env import SynthUIEnv
from act.envs.synthui.expert import Expert, expert_for
from act.envs.synthui.macro import replay_macro, run_expert
from act.envs.synthui.tasks import TASKS

ENV_IDS = tuple(f"synthui/{name}-v0" for name in TASKS)


def intent_labels() -> list[str]:
    """Every intent label a synthui expert can emit (the policy classifies these)."""
    from act.envs.synthui.expert import COMMON_INTENTS, NEXT_FIELD, VARIED_INTENTS

    labels = list(COMMON_INTENTS) + [NEXT_FIELD] + list(VARIED_INTENTS)
    for task in TASKS.values():
        labels += task.intents
    return list(dict.fromkeys(labels))


__all__ = [
    "ENV_IDS",
    "TASKS",
    "Expert",
    "SynthUIEnv",
    "expert_for",
    "intent_labels",
    "replay_macro",
    "run_expert",
]
