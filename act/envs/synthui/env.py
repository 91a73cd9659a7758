"""``SynthUIEnv``: a gymnasium env over one synthui task, with perturbation families.

Observation ``{"screen": uint8 (H, W, 3), "instruction": str}``; action: the env action dict of
``act.data.ActionSpace`` (kind id, point / point2 in [0, 1] of the screen, key id, scroll ticks).
``info`` carries the element tree and the app state for experts and metrics, never for a policy.
The episode ends on success, on an irreversible wrong action (terminated, reward 0) or at the step
limit (truncated).
"""

from __future__ import annotations

import string
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from act.envs.perturbations import build as build_perturbations
from act.envs.perturbations import format_spec, parse_spec
from act.envs.synthui.render import Renderer
from act.envs.synthui.tasks import SUCCESS, TASKS, Task
from act.envs.synthui.tasks.base import TEXT_SPLITS
from act.envs.synthui.ui import UI, Command
from act.recording.schema import Action
from act.spaces.action_space import ActionSpace

INSTRUCTION_CHARS = string.ascii_letters + string.digits + string.punctuation + " "
MAX_INSTRUCTION = 200


class SynthUIEnv(gym.Env):
    """One synthui task. ``perturbation``: a spec such as ``"theme:0.5,layout_shift:0.8"``.

    ``text_split``: where the task's strings come from (``act.envs.synthui.tasks.TEXT_SPLITS``):
    "train" (what demonstrations use), "test" (disjoint lists, what evaluation suites report) or
    "random" (random letters, what validation uses). ``headless=True`` skips rendering (the screen is
    all zeros): for running experts fast. ``expert_variety`` (0 to 1): how varied the env's scripted
    expert is (``act.envs.synthui.expert``: pauses, a wandering pointer, more slips, freer choices).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}
    source = "synthui"

    def __init__(
        self,
        task: str = "ClickButton",
        perturbation: Any = None,
        width: int = 160,
        height: int = 120,
        max_steps: int | None = None,
        render_mode: str | None = None,
        headless: bool = False,
        text_split: str = "train",
        expert_variety: float = 0.0,
    ):
        if task not in TASKS:
            raise ValueError(f"unknown synthui task {task!r}; known tasks: {', '.join(TASKS)}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r} is not supported; use 'rgb_array' or None")
        if text_split not in TEXT_SPLITS:
            raise ValueError(f"text_split: {text_split!r} is not one of {TEXT_SPLITS}")
        if not 0.0 <= float(expert_variety) <= 1.0:
            raise ValueError(f"expert_variety: {expert_variety} must be in [0, 1]")
        self.task_name = task
        self.text_split = text_split
        self.expert_variety = float(expert_variety)  # how varied this env's scripted expert is (Expert)
        self.task_cls: type[Task] = TASKS[task]
        self.perturbation = parse_spec(perturbation)
        self.width, self.height = int(width), int(height)
        if max_steps is None:  # slower UIs (latency, missed clicks, pop-ups) get proportionally more steps
            from act.envs.perturbations import family

            more = sum(family(name).extra_steps * sev for name, sev in self.perturbation)
            max_steps = round(self.task_cls.max_steps * (1.0 + more))
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        self.headless = headless
        self.space = ActionSpace()
        self.observation_space = spaces.Dict(
            {
                "screen": spaces.Box(0, 255, (self.height, self.width, 3), np.uint8),
                "instruction": spaces.Text(MAX_INSTRUCTION, min_length=1, charset=INSTRUCTION_CHARS),
            }
        )
        self.action_space = self.space.gym_space()
        self._blank = np.zeros((self.height, self.width, 3), np.uint8)
        self.ui: UI | None = None

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.episode_seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        self.task = self.task_cls(
            np.random.default_rng([self.episode_seed & 0xFFFFFFFF, 0x7A5C]), self.text_split
        )
        self.perturbations = build_perturbations(self.perturbation, self.episode_seed)
        for p in self.perturbations:
            p.edit_spec(self.task.spec)
        self.ui = UI(self.task.spec, (self.width, self.height))
        self.steps = 0
        self.off_target = 0  # executed pointer actions that hit nothing (slips, noise, a policy's misses)
        self.outcome: str | None = None
        self.confirm_commits = False
        self._pending_commit: Command | None = None
        self._queue: deque[tuple[int, Action]] = deque()
        for p in self.perturbations:
            p.on_reset(self)
        self.renderer = None if self.headless else Renderer(self.ui)
        return self._obs(), self._info()

    def step(self, action: dict[str, Any]):
        checked = self.space.check(action)  # raises ActionError naming the field, before any change
        if self.ui is None:
            raise RuntimeError("call reset() before step()")
        if self.outcome is not None or self.steps >= self.max_steps:
            raise RuntimeError("the episode is over; call reset()")
        act = self.space.decode(
            {k: np.asarray(v)[None] for k, v in checked.items()}, self.width, self.height
        )[0]
        self.steps += 1
        if act.kind not in ("noop", "wait"):
            delay = sum(p.delay(self) for p in self.perturbations)
            due = max(self.steps + delay, self._queue[-1][0] if self._queue else 0)
            self._queue.append((due, act))
        while self._queue and self._queue[0][0] <= self.steps and self.outcome is None:
            self._apply(self._queue.popleft()[1])
        if self.outcome is None:
            for p in self.perturbations:
                p.on_step(self)
        terminated = self.outcome is not None
        truncated = not terminated and self.steps >= self.max_steps
        reward = 1.0 if self.outcome == SUCCESS else 0.0
        return self._obs(), reward, terminated, truncated, self._info()

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array" and self.ui is not None:
            return self._screen()
        return None

    # -------------------------------------------------------------- internals
    def _apply(self, act: Action) -> None:
        for p in self.perturbations:
            act = p.perturb_action(act, self)
        ui = self.ui
        ui.commands.clear()
        if act.kind in ("click", "double_click", "right_click", "drag") and ui.hit(act.x, act.y) is None:
            self.off_target += 1
        if act.kind in ("click", "double_click"):
            ui.click(act.x, act.y, double=act.kind == "double_click")
        elif act.kind == "right_click":
            ui.close_menu()
        elif act.kind == "drag":
            ui.drag(act.x, act.y, act.x2, act.y2)
        elif act.kind == "scroll":
            ui.scroll(act.x, act.y, act.dx, act.dy)
        elif act.kind == "key" and act.key:
            ui.key(act.key)
        for cmd in list(ui.commands):
            self._route(cmd)
            if self.outcome is not None:
                break

    def _route(self, cmd: Command) -> None:
        ui = self.ui
        if cmd.kind == "button" and cmd.key.startswith("popup:"):
            ui.close_dialog("popup")
            return
        if cmd.kind == "button" and cmd.key.startswith("confirm:"):
            ui.close_dialog("confirm")
            pending, self._pending_commit = self._pending_commit, None
            if cmd.key == "confirm:yes" and pending is not None:
                self._judge(pending)
            return
        if self.confirm_commits and self.task.is_commit(cmd):
            self._pending_commit = cmd
            ui.open_dialog("confirm")
            return
        self._judge(cmd)

    def _judge(self, cmd: Command) -> None:
        outcome = self.task.on_command(cmd, self.ui)
        if outcome is not None and self.outcome is None:
            self.outcome = outcome

    def _screen(self) -> np.ndarray:
        return self._blank if self.renderer is None else self.renderer.frame()

    def _obs(self) -> dict[str, Any]:
        return {
            "screen": self._screen().copy(),
            "instruction": self.task.instruction,
        }  # a fresh array per step

    def _info(self) -> dict[str, Any]:
        return self.info()

    def info(self) -> dict[str, Any]:
        """The info dict of the current state (what reset and step return): task, elements, focus, ..."""
        ui = self.ui
        return {
            "task": self.task_name,
            "instruction": self.task.instruction,
            "seed": self.episode_seed,
            "step": self.steps,
            "success": self.outcome == SUCCESS,
            "failure": self.outcome is not None and self.outcome != SUCCESS,
            "elements": ui.elements(),
            "focus": ui.focus,
            "menu": ui.open_menu,
            "modals": [{"name": m, "kind": ui.spec.dialogs[m].kind} for m in ui.modals],
            "page": ui.page,
            "pending": len(self._queue),
            "off_target": self.off_target,
            "perturbation": format_spec(self.perturbation),
            "text_split": self.text_split,
            "typed": self.typed(),
        }

    def typed(self) -> dict[str, dict[str, str]]:
        """Each text field the task asks to fill -> {"text": what it holds now, "target": what it should}."""
        fields = self.ui.by_key
        return {
            key: {"text": str(fields[key].state.get("text", "")) if key in fields else "", "target": target}
            for key, target in self.task.text_targets().items()
        }

    def perturbation_meta(self) -> dict[str, Any]:
        """What meta.json records about this episode's perturbation."""
        return {
            "spec": format_spec(self.perturbation),
            "families": [p.describe() for p in self.perturbations],
        }

    def to_env_action(self, action: Action) -> dict[str, Any]:
        """An Action in logical pixels -> the env action dict."""
        return self.space.to_env(action, self.width, self.height)
