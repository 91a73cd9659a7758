"""``MiniWoBEnv``: one MiniWoB++ task in headless Chromium, with act's observation and action space.

Observation ``{"screen": uint8 (210, 160, 3), "instruction": str}``: the task area at its native
size (MiniWoB++ draws the instruction at its top too). Action: the env action dict of
``act.data.ActionSpace``; pointer actions run at the pointer in task-area pixels, keys one per step.
``info`` carries the DOM (elements with box, role, text, value) for experts and metrics, never
for a policy. Success is MiniWoB's raw reward > 0; the wall-clock limit is raised to an hour so
time penalties do not distort results. A browser that dies or hangs raises ``BrowserError`` from
``step``/``reset``; the next ``reset`` starts a new one.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import string
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from act.envs.miniwob.browser import Browser, BrowserConfig, BrowserError, ChromiumNotFound
from act.envs.miniwob.page import READ_STATE, START_EPISODE
from act.envs.miniwob.perturb import build as build_perturbations
from act.envs.miniwob.perturb import check_spec
from act.envs.miniwob.tasks import TASKS, task_max_steps
from act.envs.perturbations import format_spec
from act.recording.schema import Action
from act.spaces.action_space import ActionSpace

WIDTH, HEIGHT = 160, 210  # MiniWoB++'s task area, CSS pixels
EPISODE_TIME_LIMIT_MS = 3_600_000  # MiniWoB's default is 10 s of wall clock; ours must not matter
INSTRUCTION_CHARS = string.printable
INTERACTIVE = ("button", "link", "tab", "textbox", "checkbox", "radio", "label", "select", "input")

_IDLE: list[Browser] = []  # browsers of closed envs, reused by the next env of this process
_LIVE: set[Browser] = set()  # every browser made here, until shut down
MAX_IDLE = 2


def _acquire(config: BrowserConfig) -> Browser:
    for i, b in enumerate(_IDLE):
        if b.config == config:
            return _IDLE.pop(i)
    b = Browser(config)
    _LIVE.add(b)
    return b


def _release(browser: Browser) -> None:
    if browser.alive and len(_IDLE) < MAX_IDLE:
        _IDLE.append(browser)
    else:
        browser.stop()
        _LIVE.discard(browser)


def shutdown_browsers() -> None:
    """Quit every browser this process started (idle or in use)."""
    _IDLE.clear()
    while _LIVE:
        _LIVE.pop().stop()


# At interpreter exit, and at the exit of multiprocessing workers (which skip atexit handlers).
atexit.register(shutdown_browsers)
multiprocessing.util.Finalize(None, shutdown_browsers, exitpriority=100)


def task_url(task: str) -> str:
    """The file:// URL of a MiniWoB++ task page shipped in the ``miniwob`` package."""
    import miniwob

    path = Path(miniwob.__file__).parent / "html" / "miniwob" / f"{task}.html"
    if not path.is_file():
        raise ValueError(f"unknown MiniWoB++ task {task!r} (no {path.name} in the miniwob package)")
    return path.as_uri()


class MiniWoBEnv(gym.Env):
    """One MiniWoB++ task. ``perturbation``: a spec such as ``"theme:0.5,popup:1"``.

    ``headless`` is accepted for symmetry with synthui; Chromium always runs headless.
    Envs of one process share browsers: ``close()`` hands the browser to the next env made, so an
    evaluation that makes an env per episode starts Chromium once per worker process.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}
    source = "miniwob"

    def __init__(
        self,
        task: str = "click-button",
        perturbation: Any = None,
        max_steps: int | None = None,
        render_mode: str | None = None,
        timeout: float = 20.0,
        reload_every: int = 1,
        browser: BrowserConfig | None = None,
        headless: bool = True,
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r} is not supported; use 'rgb_array' or None")
        self.task_name = task
        self.url = task_url(task)
        self.perturbation = check_spec(perturbation)
        self.max_steps = int(max_steps or task_max_steps(task))
        self.render_mode = render_mode
        self.reload_every = max(1, int(reload_every))
        self.browser_config = browser or BrowserConfig(timeout=timeout)
        self.width, self.height = WIDTH, HEIGHT
        self.space = ActionSpace()
        self.observation_space = spaces.Dict(
            {
                "screen": spaces.Box(0, 255, (HEIGHT, WIDTH, 3), np.uint8),
                "instruction": spaces.Text(256, min_length=0, charset=INSTRUCTION_CHARS),
            }
        )
        self.action_space = self.space.gym_space()
        self.browser: Browser | None = None
        self.episodes = 0
        self.restarts = 0
        self.state: dict[str, Any] | None = None
        self.screen = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        self.perturbations: list[Any] = []

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.episode_seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        self.steps = 0
        self.off_target = 0
        self.state = None
        for attempt in range(2):  # a browser that fails here is restarted once before giving up
            try:
                self._begin()
                break
            except ChromiumNotFound:
                raise
            except BrowserError:
                if attempt == 1:
                    raise
        return self._obs(), self._info()

    def _begin(self) -> None:
        if self.browser is None:
            self.browser = _acquire(self.browser_config)
        b = self.browser
        if b.ensure() and b.restarts > 0:
            self.restarts += 1
        # A fresh page per episode makes a seed give the same pixels (no hover or focus left over from
        # the last episode) and clears what perturbations moved; reload_every > 1 trades that for speed.
        if b.url != self.url or self.perturbation or self.episodes % self.reload_every == 0:
            b.load(self.url)
            self._wait_for(
                "typeof core !== 'undefined' && typeof genProblem === 'function' && "
                "document.getElementById('sync-task-cover') !== null",
                "the task page to load",
            )
        self.episodes += 1
        ready = b.script(START_EPISODE, self.episode_seed, EPISODE_TIME_LIMIT_MS, what="start episode")
        if not ready:
            self._wait_for("WOB_TASK_READY", "the task to be ready")
        self.perturbations = build_perturbations(self.perturbation, self.episode_seed)
        for p in self.perturbations:
            p.on_reset(self)
        self._observe()

    def _wait_for(self, condition: str, what: str, limit: float = 5.0) -> None:
        deadline = time.monotonic() + limit
        while not self.browser.script(f"return !!({condition});", what=f"wait for {what}"):
            if time.monotonic() > deadline:
                raise self.browser.fail(f"{self.task_name}: timed out waiting for {what}")
            time.sleep(0.02)

    def step(self, action: dict[str, Any]):
        checked = self.space.check(action)  # raises ActionError naming the field, before any change
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        if self.state["done"] or self.steps >= self.max_steps:
            raise RuntimeError("the episode is over; call reset()")
        act = self.space.decode({k: np.asarray(v)[None] for k, v in checked.items()}, WIDTH, HEIGHT)[0]
        self.steps += 1
        self._execute(act)
        for p in self.perturbations:
            p.on_step(self)
        self._observe()
        terminated = bool(self.state["done"])
        truncated = not terminated and self.steps >= self.max_steps
        reward = 1.0 if self._success() else 0.0
        return self._obs(), reward, terminated, truncated, self._info()

    def render(self) -> np.ndarray | None:
        return self.screen if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        if self.browser is not None:
            _release(self.browser)
            self.browser = None
        super().close()

    # -------------------------------------------------------------- internals
    def _execute(self, act: Action) -> None:
        b = self.browser
        x = float(np.clip(act.x, 0, WIDTH - 1))
        y = float(np.clip(act.y, 0, HEIGHT - 1))
        if act.kind in ("click", "double_click", "right_click", "drag"):
            if not self._hits_something(x, y):
                self.off_target += 1
            x2, y2 = float(np.clip(act.x2, 0, WIDTH - 1)), float(np.clip(act.y2, 0, HEIGHT - 1))
            b.pointer(act.kind, x, y, x2, y2)
        elif act.kind == "scroll":
            b.scroll(x, y, act.dx, act.dy)
        elif act.kind == "key" and act.key:
            b.key(act.key)

    def _hits_something(self, x: float, y: float) -> bool:
        """Whether (x, y) falls on an element a click can act on (for the off-target count)."""
        for e in self.state["elements"] if self.state else []:
            x0, y0, x1, y1 = e["bbox"]
            if e["role"] in INTERACTIVE and e["visible"] and x0 <= x <= x1 and y0 <= y <= y1:
                return True
        return False

    def _observe(self) -> None:
        self.state = self.browser.script(READ_STATE, WIDTH, HEIGHT, what="read the page")
        self.screen = self.browser.screenshot(WIDTH, HEIGHT)

    def _success(self) -> bool:
        return bool(self.state and self.state["done"] and self.state["raw_reward"] > 0)

    def _obs(self) -> dict[str, Any]:
        return {"screen": self.screen, "instruction": self.state["utterance"] if self.state else ""}

    def _info(self) -> dict[str, Any]:
        s = self.state or {}
        return {
            "task": self.task_name,
            "instruction": s.get("utterance", ""),
            "seed": self.episode_seed,
            "step": self.steps,
            "success": self._success(),
            "failure": bool(s.get("done")) and not self._success(),
            "raw_reward": s.get("raw_reward", 0.0),
            "reason": s.get("reason"),
            "elements": s.get("elements", []),
            "focus": s.get("focus"),
            "popup": s.get("popup", False),
            "off_target": self.off_target,
            "perturbation": format_spec(self.perturbation),
            "browser_restarts": self.restarts,
        }

    def perturbation_meta(self) -> dict[str, Any]:
        """What meta.json records about this episode's perturbation."""
        return {
            "spec": format_spec(self.perturbation),
            "families": [p.describe() for p in self.perturbations],
        }

    def to_env_action(self, action: Action) -> dict[str, Any]:
        """An Action in task-area pixels -> the env action dict."""
        return self.space.to_env(action, WIDTH, HEIGHT)

    def make_expert(self, **kwargs: Any) -> Any:
        """The DOM expert of this task (``act(obs, info) -> Action``)."""
        from act.envs.miniwob.expert import Expert

        if self.task_name not in TASKS:
            raise TypeError(
                f"no DOM expert for MiniWoB++ task {self.task_name!r}; experts: {', '.join(TASKS)}"
            )
        return Expert(self, **kwargs)
