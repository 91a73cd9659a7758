"""scale: the whole UI zoomed (fonts, widgets, bars, margins) by 1 + 0.5 * severity, as with a
display scale of up to 150%, and the content re-centred the way a responsive layout does (fully at
severity 1). Where the zoomed UI would not fit the screen, the layout zooms back out until it does."""

from __future__ import annotations

from act.envs.synthui.perturb import SynthUIPerturbation

MAX_ZOOM = 0.5


class Family(SynthUIPerturbation):
    name = "scale"
    order = 10

    def edit_spec(self, spec) -> None:
        s = self.severity
        spec.look.scale = 1.0 + MAX_ZOOM * s
        spec.look.content_align = (0.5 * s, 0.5 * s)
        self.params = {"scale": spec.look.scale, "align": 0.5 * s}
