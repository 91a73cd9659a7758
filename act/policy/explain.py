"""Plans in words: what ``ACTPolicy.explain`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from act.recording.schema import Action


def describe_steps(actions: list[Action]) -> str:
    """``click at (12, 8), then type "abc", then press enter``; runs of single-character keys become one
    ``type``."""
    phrases: list[str] = []
    typed = ""
    for a in actions:
        if a.kind == "key" and a.key and len(a.key) == 1:
            typed += a.key
            continue
        if typed:
            phrases.append(f"type {typed!r}" if '"' in typed else f'type "{typed}"')
            typed = ""
        phrases.append("wait" if a.kind == "wait" and not a.duration else a.describe())
    if typed:
        phrases.append(f"type {typed!r}" if '"' in typed else f'type "{typed}"')
    return ", then ".join(phrases) if phrases else "do nothing"


@dataclass
class Explanation:
    """The intent the policy names and the steps it plans, in logical pixels of the observed screen.

    ``str(explanation)`` reads like ``open the File menu: click at (12, 8), then press enter`` and,
    when the policy reads the screen, ``(looking for "file")``: the words its clicks seek.
    """

    intent: str | None
    intent_prob: float
    steps: list[Action]
    step_probs: list[float] = field(default_factory=list)  # probability of each step's kind
    seeks: list[str] = field(default_factory=list)  # instruction words the pointer steps look for

    def __str__(self) -> str:
        steps = list(self.steps)
        while steps and steps[-1].kind == "noop":  # trailing no-ops say nothing
            steps.pop()
        text = describe_steps(steps)
        if self.seeks:
            text += " (looking for " + ", then ".join(f'"{w}"' for w in self.seeks) + ")"
        return f"{self.intent}: {text}" if self.intent else text
