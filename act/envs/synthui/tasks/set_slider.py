"""SetSlider: drag the named slider to the value, then press the commit button. Committing another
value (or moving another slider) ends the episode."""

from __future__ import annotations

from act.envs.synthui.spec import AppSpec, Item, Panel, Row
from act.envs.synthui.tasks.base import FAILURE, SUCCESS, Task, close_menu, pick, sample
from act.recording.schema import Action

NAMES = ("Volume", "Speed", "Zoom", "Bass", "Treble", "Balance", "Opacity", "Quality", "Contrast", "Gain")
SYNONYMS = {
    "Volume": ("Loudness",),
    "Speed": ("Rate",),
    "Zoom": ("Scale",),
    "Opacity": ("Alpha",),
    "Quality": ("Detail",),
    "Gain": ("Boost",),
}
RANGES = ((0, 100, 10), (0, 100, 20), (0, 100, 25), (1, 5, 1), (0, 10, 1), (0, 10, 2), (0, 50, 10))
COMMITS = ("OK", "Apply", "Done")
TEMPLATES = (
    "Set {n} to {v}, then click {c}.",
    "Drag the {n} slider to {v} and press {c}.",
    "Move {n} to {v}. Confirm with {c}.",
    "Adjust {n} to {v} and click {c}.",
)
DRAG, CLICK, FIX, APPLY = (
    "drag the slider to the value",
    "click the slider track",
    "correct the slider",
    "apply the settings",
)


class SetSlider(Task):
    name = "SetSlider"
    max_steps = 40
    intents = (DRAG, CLICK, FIX, APPLY)

    def build(self, rng):
        names = sample(rng, NAMES, int(rng.integers(1, 4)))
        self.initial: dict[str, int] = {}
        rows = []
        for name in names:
            lo, hi, step = pick(rng, RANGES)
            values = list(range(lo, hi + 1, step))
            value = pick(rng, values)
            self.initial[f"sl:{name}"] = value
            rows.append(
                Row(
                    [
                        Item(
                            "label",
                            f"lbl:{name}",
                            name,
                            props={"form": True},
                            synonyms=SYNONYMS.get(name, ()),
                        ),
                        Item(
                            "slider",
                            f"sl:{name}",
                            name,
                            props={"value": value, "min": lo, "max": hi, "step": step},
                        ),
                    ],
                    shuffle=False,
                    wide=True,
                )
            )
        self.target = f"sl:{pick(rng, names)}"
        w = rows[names.index(self.target[3:])].items[1].props
        self.value = pick(rng, [v for v in range(w["min"], w["max"] + 1, w["step"]) if v != w["value"]])
        commit = pick(rng, COMMITS)
        rows.append(
            Row(
                [
                    Item("button", "commit", commit, props={"default": True}),
                    Item("button", "cancel", "Cancel"),
                ],
                align=pick(rng, ("left", "right")),
            )
        )
        decoy = Row([Item("label", "ad", "Changes apply on OK", props={"muted": True})])
        spec = AppSpec(pick(rng, ("Sound", "Display", "Settings", "Mixer")), Panel(rows, pool=[decoy]))
        return spec, pick(rng, TEMPLATES).format(n=self.target[3:], v=self.value, c=commit)

    def is_commit(self, cmd):
        return cmd.kind == "button" and cmd.key == "commit"

    def on_command(self, cmd, ui):
        if self.is_commit(cmd):
            want = {**self.initial, self.target: self.value}
            ok = all(ui.widget(k).state["value"] == v for k, v in want.items())
            return SUCCESS if ok else FAILURE
        if cmd.kind == "button" and cmd.key == "cancel":
            for k, v in self.initial.items():
                ui.widget(k).state["value"] = v
            ui.changed()
        return None

    def expert_step(self, ctx):
        if (a := close_menu(ctx)) is not None:
            return a
        for key, value in self.initial.items():  # another slider moved (a policy's drag): put it back
            o = ctx.state(key)
            if key != self.target and o["value"] != value:
                x, y = _track_point(ctx, o, value)
                return ctx.drag(ctx.point_in(o["thumb"]), (round(float(x), 1), round(float(y), 1)), FIX)
        s = ctx.state(self.target)
        if s["value"] == self.value:
            return ctx.click("commit", APPLY)
        value = self.value
        fixing = ctx.expert.memo.get("moved", False)
        intent = FIX if fixing else DRAG
        # a slip: one step off, fixed next (not when careful: slip 0)
        if not fixing and ctx.expert.slip > 0 and ctx.chance(0.08) and ctx.expert.slips < 2:
            ctx.expert.slips += 1
            value += s["step"] if value < s["max"] else -s["step"]
        ctx.expert.memo["moved"] = True
        x, y = _track_point(ctx, s, value)
        if ctx.choose("method", ("drag", "click"), (0.8, 0.2)) == "click" and not fixing:
            thumb = s["thumb"]
            if not (thumb[0] <= x < thumb[2]):
                return Action("click", round(float(x), 1), round(float(y), 1), intent=CLICK)
        start = ctx.point_in(s["thumb"])
        return ctx.drag(start, (round(float(x), 1), round(float(y), 1)), intent)


def _track_point(ctx, s, value) -> tuple[float, float]:
    """A point on slider state ``s``'s track within a quarter step of ``value`` (unrounded)."""
    tx0, tx1, yc = s["track"]
    per = (tx1 - tx0) * s["step"] / (s["max"] - s["min"])  # pixels per step
    x = tx0 + (value - s["min"]) / (s["max"] - s["min"]) * (tx1 - tx0) + ctx.rng.uniform(-0.25, 0.25) * per
    return x, yc + ctx.rng.uniform(-2, 2)
