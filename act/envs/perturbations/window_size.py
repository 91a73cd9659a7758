"""window_size: the app window is no longer maximised: smaller, somewhere on the desktop; its content
reflows to the narrower window."""

from __future__ import annotations

from act.envs.synthui.perturb import SynthUIPerturbation


class Family(SynthUIPerturbation):
    name = "window_size"
    order = 10

    def edit_spec(self, spec) -> None:
        s, rng = self.severity, self.rng
        w = 1.0 - s * rng.uniform(0.1, 0.2)
        h = 1.0 - s * rng.uniform(0.05, 0.15)
        spec.look.window_size = (float(w), float(h))
        spec.look.window_pos = (float(rng.random()), float(rng.random()))
        self.params = {"size": [round(w, 4), round(h, 4)], "pos": [round(p, 4) for p in spec.look.window_pos]}
