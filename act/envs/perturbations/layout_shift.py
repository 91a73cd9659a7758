"""layout_shift: an info banner pushes the window's content down, a side panel pushes it right,
an app icon pushes the menus right, and dialogs open off centre. Widgets keep their order."""

from __future__ import annotations

from act.envs.perturbations.common import BANNERS
from act.envs.synthui.perturb import SynthUIPerturbation


class Family(SynthUIPerturbation):
    name = "layout_shift"
    order = 10

    def edit_spec(self, spec) -> None:
        s, rng = self.severity, self.rng
        if s <= 0:
            return
        look = spec.look
        look.banner = int(round(s * rng.uniform(18, 24)))
        look.banner_text = str(rng.choice(BANNERS))
        look.sidebar = int(round(s * rng.uniform(24, 32)))
        look.menubar_lead = int(round(s * rng.uniform(22, 32)))
        for panel in spec.dialogs.values():
            dx = s * rng.uniform(8, 16) * rng.choice((-1, 1))
            dy = s * rng.uniform(4, 10) * rng.choice((-1, 1))
            panel.offset = (panel.offset[0] + dx, panel.offset[1] + dy)
        self.params = {"banner": look.banner, "sidebar": look.sidebar, "menubar_lead": look.menubar_lead}
