"""action_noise: some executed pointer actions land off target, on nothing, a few pixels away
(probability 0.6 * severity): the agent must notice and try again."""

from __future__ import annotations

import math
from dataclasses import replace

from act.envs.synthui.perturb import SynthUIPerturbation

POINTER = ("click", "double_click", "right_click", "drag", "scroll")


class Family(SynthUIPerturbation):
    name = "action_noise"
    order = 60
    extra_steps = 1.0
    sheet_frame = "last"

    def __init__(self, severity, rng):
        super().__init__(severity, rng)
        self.params = {"p": round(0.6 * self.severity, 4), "radius": [4.0, 4.0 + 10.0 * self.severity]}

    def perturb_action(self, action, env):
        if action.kind not in POINTER or self.severity <= 0 or self.rng.random() >= self.params["p"]:
            return action
        w, h = env.ui.size
        r0, r1 = self.params["radius"]
        for _ in range(12):
            angle = self.rng.uniform(0, 2 * math.pi)
            r = self.rng.uniform(r0, r1)
            x, y = action.x + r * math.cos(angle), action.y + r * math.sin(angle)
            if 0 <= x < w and 0 <= y < h and env.ui.hit(x, y) is None:
                return replace(action, x=x, y=y)
        return action
