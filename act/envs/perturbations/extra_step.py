"""extra_step: the action that completes the task (submit, apply, export, open) first asks
"Are you sure?" and only takes effect once confirmed. Applies with probability = severity."""

from __future__ import annotations

from act.envs.synthui.perturb import SynthUIPerturbation

QUESTIONS = ("Are you sure?", "Really continue?", "Apply this now?", "Proceed?")


class Family(SynthUIPerturbation):
    name = "extra_step"
    order = 50
    extra_steps = 0.25
    sheet_frame = "last"

    def edit_spec(self, spec) -> None:
        from act.envs.synthui.spec import Item, Panel, Row

        rng = self.rng
        self.active = bool(rng.random() < self.severity)
        spec.dialogs["confirm"] = Panel(
            [
                Row([Item("label", "confirm:msg", str(rng.choice(QUESTIONS)))], shuffle=False, movable=False),
                Row(
                    [
                        Item("button", "confirm:yes", "Yes", props={"default": True}),
                        Item("button", "confirm:no", "No"),
                    ],
                    align="right",
                    movable=False,
                ),
            ],
            title="Confirm",
            width=100,
            default="confirm:yes",
            cancel="confirm:no",
            kind="confirm",
        )
        self.params = {"active": self.active}

    def on_reset(self, env) -> None:
        env.confirm_commits = env.confirm_commits or self.active
