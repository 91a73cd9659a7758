"""theme: colours change together: hue rotated, saturation changed, dark mode at high severity."""

from __future__ import annotations

from act.envs.synthui.perturb import SynthUIPerturbation


class Family(SynthUIPerturbation):
    name = "theme"
    order = 10

    def edit_spec(self, spec) -> None:
        s, rng = self.severity, self.rng
        if s <= 0:
            return
        hue = float(s * rng.uniform(-0.5, 0.5))
        sat = float(1.0 + s * rng.uniform(-0.6, 0.6))
        invert = bool(rng.random() < s)
        spec.look.palette = spec.look.palette.transformed(hue=hue, saturation=sat, invert=invert)
        self.params = {"hue": round(hue, 4), "saturation": round(sat, 4), "dark": invert}
