"""The perturbation hooks of synthui: what ``SynthUIEnv`` calls on each family, besides reset and step.

The families themselves are the modules of ``act.envs.perturbations``; each subclasses
``SynthUIPerturbation`` and overrides the phases it acts in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from act.envs.perturbations.base import Perturbation

if TYPE_CHECKING:
    from act.envs.synthui.env import SynthUIEnv
    from act.envs.synthui.spec import AppSpec
    from act.recording.schema import Action


class SynthUIPerturbation(Perturbation["SynthUIEnv"]):
    """A family acting on a synthui app: its spec before layout, the built UI, each step's timing, input."""

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
