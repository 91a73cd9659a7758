"""The base class of a perturbation family: one family, at one severity, for one episode.

A family draws everything it needs from its own random generator (seeded from the episode seed and
the family name), so the same seed gives the same perturbation and composing families does not
change any one family's draws. Every hook does nothing by default; a family overrides the phases it
acts in. The hooks below are those of the built-in ``synthui`` env; other envs may call other hooks.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from act.envs.synthui.env import SynthUIEnv
    from act.envs.synthui.spec import AppSpec
    from act.recording.schema import Action


def family_rng(seed: int, name: str) -> np.random.Generator:
    """The generator a family draws from for the episode with ``seed``."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode()), 0x5EED])


class Perturbation:
    """One perturbation family at ``severity`` in [0, 1] (0 = no change) for one episode."""

    name: ClassVar[str] = ""
    order: ClassVar[int] = 50  # families apply in this order, whatever the order of the spec string
    sheet_frame: ClassVar[str] = "first"  # which frame shows it best on a contact sheet: first | last
    extra_steps: ClassVar[float] = 0.0  # more steps an episode may take at severity 1 (fraction of the limit)

    def __init__(self, severity: float, rng: np.random.Generator):
        self.severity = float(severity)
        self.rng = rng
        self.params: dict[str, Any] = {}  # what was drawn, written into meta.json

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "severity": self.severity, "params": self.params}

    # synthui hooks ---------------------------------------------------------
    def edit_spec(self, spec: AppSpec) -> None:
        """Change the app's content and look before layout."""

    def on_reset(self, env: SynthUIEnv) -> None:
        """Act on the built UI at reset (open a pop-up, require confirmations)."""

    def on_step(self, env: SynthUIEnv) -> None:
        """Act after each step's input has been applied."""

    def delay(self, env: SynthUIEnv) -> int:
        """Steps the effect of the current action waits before it is applied."""
        return 0

    def perturb_action(self, action: Action, env: SynthUIEnv) -> Action:
        """The action as executed (e.g. a click that lands off target)."""
        return action
