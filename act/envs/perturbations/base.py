"""The base class of a perturbation family: one family, at one severity, for one episode.

A family draws everything it needs from its own random generator (seeded from the episode seed and
the family name), so the same seed gives the same perturbation and composing families does not
change any one family's draws. The base knows no env: it has the two phases every env has
(``on_reset``, ``on_step``), typed by the env it is bound to; a backend subclasses it with the env
type and whatever hooks its env calls besides (synthui: ``act.envs.synthui.perturb``; MiniWoB++:
``act.envs.miniwob.perturb``). Every hook does nothing by default.
"""

from __future__ import annotations

import zlib
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

EnvT = TypeVar("EnvT")


def family_rng(seed: int, name: str) -> np.random.Generator:
    """The generator a family draws from for the episode with ``seed``."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode()), 0x5EED])


class Perturbation(Generic[EnvT]):
    """One perturbation family at ``severity`` in [0, 1] (0 = no change) for one episode of an ``EnvT``."""

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

    def on_reset(self, env: EnvT) -> None:
        """Act on the freshly reset env."""

    def on_step(self, env: EnvT) -> None:
        """Act after each step's input has been applied."""
