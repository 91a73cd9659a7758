"""popup: a modal pop-up (a tip, an update notice, a cookie banner) that must be dismissed before the
app takes input again. From severity 0.5 one is open at the start; above it a second one comes later."""

from __future__ import annotations

from act.envs.perturbations.common import BUTTONS, MESSAGES, TITLES
from act.envs.synthui.perturb import SynthUIPerturbation


class Family(SynthUIPerturbation):
    name = "popup"
    order = 50
    extra_steps = 0.5

    def edit_spec(self, spec) -> None:
        from act.envs.synthui.spec import Item, Panel, Row

        s, rng = self.severity, self.rng
        labels = BUTTONS[int(rng.integers(len(BUTTONS)))]
        buttons = [
            Item("button", f"popup:{i}", lab, props={"default": i == 0}) for i, lab in enumerate(labels)
        ]
        spec.dialogs["popup"] = Panel(
            [
                Row([Item("label", "popup:msg", str(rng.choice(MESSAGES)))], shuffle=False, movable=False),
                Row(buttons, align="right", movable=False),
            ],
            title=str(rng.choice(TITLES)),
            width=float(rng.uniform(96, 116)),
            default="popup:0",
            cancel="popup:0",
            kind="popup",
            offset=(s * rng.uniform(-20, 20), s * rng.uniform(-14, 14)),
        )
        self.at_start = bool(rng.random() < min(1.0, 2.0 * s))
        self.later = int(rng.integers(2, 7)) if rng.random() < max(0.0, 2.0 * s - 1.0) else None
        self.params = {"at_start": self.at_start, "later_step": self.later}

    def on_reset(self, env) -> None:
        if self.at_start:
            env.ui.open_dialog("popup")

    def on_step(self, env) -> None:
        if self.later is not None and env.steps == self.later:
            env.ui.open_dialog("popup")
