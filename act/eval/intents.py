"""Closed-loop intent checks: the intent a policy states against what a careful expert would do.

At every step of a synthui episode, the careful expert (DAgger's labeller: no slips, typos or
detours) says what it would do from the state the policy reached, with its intent. A step counts
for the *intent accuracy* when the policy's stated intent (that of the chunk it is executing) is
the expert's, and for the *agreement* when, with the intent right, the executed action does what
the intent names: the expert's kind, inside the expert's target box (pointer actions) or the
expert's key. Steps where the expert would only wait for the screen are not judged.

The labeller's once-per-episode choices are its own (Login's field order, Enter or the button),
so where several orders are valid, a stated intent that follows another valid order counts as a
miss: intent accuracy is a lower bound on multi-route tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from act.recording.schema import POINTER_KINDS, Action


class IntentChecker:
    """Judge each step of one episode; ``checks``: one ``[stated, expert, agrees]`` per judged step
    (``agrees`` is None where the stated intent is not the expert's)."""

    def __init__(self, env: Any):
        from act.envs.synthui.expert import careful_expert

        self.base = env.unwrapped
        self.labeller = careful_expert(env)
        self.checks: list[list[Any]] = []

    @classmethod
    def of(cls, env: Any, policy: Any) -> IntentChecker | None:
        """A checker when the env has a synthui expert and the policy states intents, else None."""
        if getattr(env.unwrapped, "source", None) != "synthui" or not hasattr(policy, "stated_intent"):
            return None
        return cls(env)

    def check(
        self, obs: dict[str, Any], info: dict[str, Any], action: dict[str, Any], stated: str | None
    ) -> None:
        """Judge the env ``action`` the policy chose from (obs, info), before the env steps with it."""
        want = self.labeller.act(obs, info)
        if want.kind == "wait" or not want.intent:
            return
        if stated != want.intent:
            self.checks.append([stated, want.intent, None])
            return
        done = self.base.space.from_env(action, self.base.width, self.base.height)
        self.checks.append([stated, want.intent, does(done, want)])


def does(done: Action, want: Action) -> bool:
    """Whether the executed action is the one the expert's intent names: same kind, and inside the
    expert's target box (pointer actions that have one) or the same key."""
    if done.kind != want.kind:
        return False
    if done.kind == "key":
        return done.key == want.key
    if done.kind in POINTER_KINDS and want.target is not None:
        x0, y0, x1, y1 = want.target
        return x0 <= done.x <= x1 and y0 <= done.y <= y1
    return True


def intent_rates(checks: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Intent accuracy over judged steps, agreement over the steps whose intent was right (None when
    no step was judged), and the counts they rest on."""
    right = [c for c in checks if c[0] == c[1]]
    return {
        "intent_accuracy": len(right) / len(checks) if checks else None,
        "intent_agreement": sum(bool(c[2]) for c in right) / len(right) if right else None,
        "intent_n": len(checks),
    }
