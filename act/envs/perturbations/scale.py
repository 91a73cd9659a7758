"""scale: the whole UI zoomed (fonts, widgets, bars, margins), as with a display scale of 125%."""

from __future__ import annotations

from act.envs.perturbations.base import Perturbation

MAX_ZOOM = 0.25  # severity 1.0 zooms by 25%: the most a 160 x 120 screen fits


class Family(Perturbation):
    name = "scale"
    order = 10

    def edit_spec(self, spec) -> None:
        spec.look.scale = 1.0 + MAX_ZOOM * self.severity
        self.params = {"scale": spec.look.scale}
