"""``DesktopEnv``: a gymnasium env over a real Tk application on an X display.

Each episode starts ``python -m act.envs.desktop.app --task T --seed N`` as a child process (on its
own Xvfb unless a ``display`` is given), observes by grabbing the app's window with mss (the
recorder's screen back end), acts through real input events (XTest, via ``xdotool``) and takes
success from the app's own state, read from its side channel (``act.envs.desktop.app``).

Observation ``{"screen": uint8 (H, W, 3) of the window, "instruction": str}``; action: the env action
dict of ``act.spaces.ActionSpace``, points normalised to the window. ``info`` carries the app's
element snapshot (boxes in screen pixels), its task state and result: for experts and metrics,
never for a policy. A lost display or app ends the episode with ``info["error"]`` (terminated,
reward 0) instead of raising, so a caller keeps everything up to that step.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from act.recording.schema import Action
from act.spaces.action_space import ActionSpace

INSTRUCTION_CHARS = "".join(chr(c) for c in range(32, 127))
MAX_INSTRUCTION = 200
SUCCESS = "success"  # the app's result on success (act.envs.desktop.app.SUCCESS)
MAX_STEPS = {"login": 40, "settings": 20, "search": 40, "export": 40}

# Perturbation families of the desktop app: how a user's desktop changes a real application's look.
# scale: the display scale, fonts and layout zoomed by 1 + MAX_ZOOM * severity (140% at 1: the
# zoomed layout still fits the 640 x 480 window). layout_shift: the content moved inside the
# window, right and down by severity * u * MAX_SHIFT with u ~ U(0.5, 1) per axis, drawn per seed.
# theme: a colour palette (one of PALETTES, drawn per seed, at any severity above 0).
FAMILIES = ("layout_shift", "scale", "theme")
MAX_ZOOM = 0.4
MAX_SHIFT = (160, 110)
PALETTES = ("#2b2b2b,#e8e8e8", "#dde6f5,#1a1a40", "#f5ecd7,#3b2f1e")


def look_args(perturbation: Any, seed: int) -> list[str]:
    """The app's command-line arguments for a perturbation spec in the episode with ``seed``."""
    from act.envs.perturbations import family_rng, parse_spec

    try:
        spec = parse_spec(perturbation)
    except ValueError as e:  # synthui's registry names its own families: name the desktop's
        raise ValueError(f"{e} (the desktop envs have {', '.join(FAMILIES)})") from None
    unknown = [name for name, _ in spec if name not in FAMILIES]
    if unknown:
        raise ValueError(
            f"the desktop envs have no perturbation family {', '.join(map(repr, unknown))}; "
            f"they have {', '.join(FAMILIES)}"
        )
    args: list[str] = []
    for name, severity in spec:
        rng = family_rng(seed, name)
        if name == "scale":
            args += ["--scale", f"{1 + MAX_ZOOM * severity:g}"]
        elif name == "layout_shift":
            u = rng.uniform(0.5, 1.0, 2)
            args += ["--offset", *(str(round(severity * u[i] * MAX_SHIFT[i])) for i in range(2))]
        elif name == "theme" and severity > 0:
            args += ["--palette", PALETTES[int(rng.integers(len(PALETTES)))]]
    return args


# key tokens of the action space -> X keysyms for xdotool (characters are typed as they are)
KEYSYMS = {
    "enter": "Return",
    "tab": "Tab",
    "backspace": "BackSpace",
    "escape": "Escape",
    "delete": "Delete",
    "space": "space",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "home": "Home",
    "end": "End",
    "page_up": "Prior",
    "page_down": "Next",
}


class DesktopError(RuntimeError):
    """The display, the app or the input tool failed; the message names the command and why."""


def require_tools() -> None:
    """Raise DesktopError unless Xvfb and xdotool are installed."""
    missing = [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]
    if missing:
        raise DesktopError(f"{' and '.join(missing)} not found: apt-get install xvfb xdotool")


class Xvfb:
    """A virtual X server on a free display number (Xvfb picks it and reports it on -displayfd)."""

    def __init__(self, width: int, height: int, timeout: float = 20.0):
        require_tools()
        read_fd, write_fd = os.pipe()
        cmd = [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
        ]
        cmd += ["+extension", "RECORD"]  # so act-record can listen to the input
        self.proc = subprocess.Popen(
            cmd, pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number:
            self.proc.kill()
            err = self.proc.communicate(timeout=timeout)[1]
            raise DesktopError(f"Xvfb did not start: `{shlex.join(cmd)}`: {err.strip()[-800:]}")
        self.display = f":{number}"
        self._finalizer = weakref.finalize(self, _stop, self.proc)  # no Xvfb outlives an unclosed env

    def stop(self) -> None:
        _stop(self.proc)


def _stop(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def x_env(display: str) -> dict[str, str]:
    """The environment for X clients of ``display`` (never a Wayland session's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env["DISPLAY"] = display
    return env


class AppProcess:
    """The app as a child process: its stdin takes ``sync N``, its snapshots arrive in a JSON-lines file."""

    def __init__(self, cmd: list[str], env: dict[str, str], state: Path, timeout: float):
        self.cmd, self.state = cmd, state
        self._err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._err, text=True
        )
        self._buf = ""
        self._pos = 0
        self._sync = 0
        self.last: dict[str, Any] | None = None
        self.wait_for(0, timeout, starting=True)

    def stderr(self) -> str:
        self._err.seek(0)
        return self._err.read().strip()[-2000:]

    def _died(self, what: str) -> DesktopError:
        rc = self.proc.poll()
        return DesktopError(
            f"the desktop app {what}: `{shlex.join(self.cmd)}` exited with status {rc}; "
            f"stderr: {self.stderr() or '(empty)'}"
        )

    def _read(self) -> list[dict[str, Any]]:
        if not self.state.exists():
            return []
        with open(self.state, encoding="utf-8") as f:
            f.seek(self._pos)
            data = f.read()
            self._pos = f.tell()
        self._buf += data
        *lines, self._buf = self._buf.split("\n")
        return [json.loads(line) for line in lines if line.strip()]

    def wait_for(self, sync: int, timeout: float, starting: bool = False) -> dict[str, Any]:
        """Block until the snapshot answering ``sync N`` arrives; DesktopError if the app dies or is mute."""
        end = time.monotonic() + timeout
        while True:
            for snap in self._read():
                self.last = snap
                if snap.get("sync") == sync:
                    return snap
            if self.proc.poll() is not None:
                raise self._died("did not start" if starting else "exited mid-episode")
            if time.monotonic() > end:
                what = "did not start" if starting else "stopped answering"
                raise DesktopError(
                    f"the desktop app {what} within {timeout:g} s: `{shlex.join(self.cmd)}`; "
                    f"stderr: {self.stderr() or '(empty)'}"
                )
            time.sleep(0.005)

    def sync(self, timeout: float) -> dict[str, Any]:
        """The app's snapshot after it has handled every input event sent so far."""
        self._sync += 1
        try:
            self.proc.stdin.write(f"sync {self._sync}\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise self._died("exited mid-episode") from e
        return self.wait_for(self._sync, timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # the app quits at the end of its stdin
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.send_signal(signal.SIGTERM)
            _stop(self.proc)
        self._err.close()


class DesktopEnv(gym.Env):
    """One desktop task (``login``, ``settings``, ``search``, ``export``) in a real Tk app.

    ``display``: an X display to use (e.g. ``":0"``); None starts a private Xvfb of
    ``width`` x ``height`` for the env's lifetime. ``command``: the app command without task and
    seed arguments (default ``python -m act.envs.desktop.app``). ``pause``: seconds to wait after
    each input before syncing (slower apps, or a screen recorder that should see each state).
    ``position``: where the app's window goes on the screen (observations and actions are relative
    to the window, element boxes are screen pixels).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 5}
    source = "desktop"

    def __init__(
        self,
        task: str = "login",
        perturbation: Any = None,
        display: str | None = None,
        width: int = 640,
        height: int = 480,
        max_steps: int | None = None,
        render_mode: str | None = None,
        command: list[str] | None = None,
        pause: float = 0.0,
        timeout: float = 15.0,
        position: tuple[int, int] = (0, 0),
    ):
        if task not in MAX_STEPS:
            raise ValueError(f"unknown desktop task {task!r}; known tasks: {', '.join(MAX_STEPS)}")
        look_args(perturbation, 0)  # an unknown family or a bad severity fails here, before any X
        self.perturbation = perturbation or ""
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r} is not supported; use 'rgb_array' or None")
        self.task_name, self.width, self.height = task, int(width), int(height)
        self.max_steps = int(max_steps or MAX_STEPS[task])
        self.render_mode, self.pause, self.timeout = render_mode, float(pause), float(timeout)
        self.command = list(command or [sys.executable, "-m", "act.envs.desktop.app"])
        self.position = (int(position[0]), int(position[1]))
        self.space = ActionSpace()
        self.observation_space = spaces.Dict(
            {
                "screen": spaces.Box(0, 255, (self.height, self.width, 3), np.uint8),
                "instruction": spaces.Text(MAX_INSTRUCTION, min_length=1, charset=INSTRUCTION_CHARS),
            }
        )
        self.action_space = self.space.gym_space()
        require_tools()
        size = (self.width + self.position[0], self.height + self.position[1])
        self.xvfb = Xvfb(*size) if display is None else None
        self.display = display or self.xvfb.display
        self._x_env = x_env(self.display)
        self._dir = Path(tempfile.mkdtemp(prefix="act-desktop-"))
        self.app: AppProcess | None = None
        self._sct: Any = None
        self._screen = np.zeros((self.height, self.width, 3), np.uint8)
        self.snap: dict[str, Any] = {}
        self.episodes = 0
        self.error: str | None = None

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.episode_seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        self._close_app()
        self.episodes += 1
        self.state_path = self._dir / f"episode_{self.episodes:04d}.jsonl"
        cmd = [*self.command, "--task", self.task_name, "--seed", str(self.episode_seed)]
        cmd += ["--state", str(self.state_path), "--width", str(self.width), "--height", str(self.height)]
        cmd += ["--x", str(self.position[0]), "--y", str(self.position[1])]
        cmd += look_args(self.perturbation, self.episode_seed)
        self.app = AppProcess(cmd, self._x_env, self.state_path, self.timeout)  # DesktopError if it fails
        self.steps, self.error = 0, None
        self.snap = self.app.sync(self.timeout)
        self._grab()
        return self._obs(), self.info()

    def step(self, action: dict[str, Any]):
        checked = self.space.check(action)  # raises ActionError naming the field, before any input
        if self.app is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode is over; call reset()")
        act = self.space.decode(
            {k: np.asarray(v)[None] for k, v in checked.items()}, self.width, self.height
        )[0]
        self.steps += 1
        try:
            self._execute(act)
            if self.pause:
                time.sleep(self.pause)
            self.snap = self.app.sync(self.timeout)
            self._grab()
        except DesktopError as e:
            self.error = str(e)
        terminated = self.error is not None or self.snap.get("result") is not None
        truncated = not terminated and self.steps >= self.max_steps
        reward = 1.0 if self.snap.get("result") == SUCCESS and self.error is None else 0.0
        return self._obs(), reward, terminated, truncated, self.info()

    @property
    def done(self) -> bool:
        return self.error is not None or self.snap.get("result") is not None or self.steps >= self.max_steps

    def render(self) -> np.ndarray | None:
        return self._screen.copy() if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        self._close_app()
        if self._sct is not None:
            with contextlib.suppress(Exception):  # a display already gone cannot be closed cleanly
                self._sct.close()
            self._sct = None
        if getattr(self, "xvfb", None) is not None:
            self.xvfb.stop()
            self.xvfb = None
        shutil.rmtree(getattr(self, "_dir", ""), ignore_errors=True)
        super().close()

    # -------------------------------------------------------------- internals
    def _close_app(self) -> None:
        if self.app is not None:
            self.app.close()
            self.app = None

    @property
    def window(self) -> tuple[int, int, int, int]:
        """The app window's box (x0, y0, x1, y1) in screen pixels."""
        return tuple(self.snap.get("window") or (0, 0, self.width, self.height))

    def _xdotool(self, *args: str) -> None:
        cmd = ["xdotool", *args]
        try:
            res = subprocess.run(cmd, env=self._x_env, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired as e:
            raise DesktopError(f"`{shlex.join(cmd)}` hung on DISPLAY={self.display}") from e
        if res.returncode != 0:
            raise DesktopError(
                f"`{shlex.join(cmd)}` failed on DISPLAY={self.display} (status {res.returncode}): "
                f"{res.stderr.strip()[-500:] or '(no stderr)'}"
            )

    def _execute(self, act: Action) -> None:
        """One action as real input events on the display."""
        x0, y0 = self.window[:2]

        def at(x: float, y: float) -> list[str]:
            px = min(max(round(x), 0), self.width - 1) + x0
            py = min(max(round(y), 0), self.height - 1) + y0
            return ["mousemove", str(px), str(py)]

        if act.kind == "click":
            self._xdotool(*at(act.x, act.y), "click", "1")
        elif act.kind == "double_click":
            self._xdotool(*at(act.x, act.y), "click", "--repeat", "2", "--delay", "60", "1")
        elif act.kind == "right_click":
            self._xdotool(*at(act.x, act.y), "click", "3")
        elif act.kind == "drag":
            path = []
            for f in (0.25, 0.5, 0.75, 1.0):
                path += at(act.x + f * (act.x2 - act.x), act.y + f * (act.y2 - act.y)) + ["sleep", "0.02"]
            self._xdotool(*at(act.x, act.y), "mousedown", "1", *path, "mouseup", "1")
        elif act.kind == "scroll":
            args = at(act.x, act.y)
            for amount, (plus, minus) in ((act.dy, ("4", "5")), (act.dx, ("7", "6"))):
                ticks = round(abs(amount))
                if ticks:
                    args += ["click", "--repeat", str(ticks), plus if amount > 0 else minus]
            self._xdotool(*args)
        elif act.kind == "key" and act.key:
            if len(act.key) == 1:
                self._xdotool("type", "--delay", "0", "--", act.key)
            else:
                *mods, key = act.key.split("+") if "+" in act.key[1:] else [act.key]
                self._xdotool("key", "--", "+".join([*mods, KEYSYMS.get(key, key)]))
        elif act.kind == "wait":
            time.sleep(min(max(act.duration, 0.0), 5.0))

    def _grab(self) -> None:
        import mss

        x0, y0 = self.window[:2]
        try:
            if self._sct is None:
                self._sct = (getattr(mss, "MSS", None) or mss.mss)(display=self.display)
            shot = self._sct.grab({"left": x0, "top": y0, "width": self.width, "height": self.height})
        except Exception as e:  # noqa: BLE001 - mss fails in several ways on a display that went away
            raise DesktopError(
                f"cannot grab the screen of DISPLAY={self.display}: {type(e).__name__}: {e}"
            ) from e
        bgra = np.frombuffer(shot.raw, np.uint8).reshape(shot.height, shot.width, 4)
        self._screen = np.ascontiguousarray(bgra[..., 2::-1])

    def _obs(self) -> dict[str, Any]:
        return {"screen": self._screen.copy(), "instruction": self.snap.get("instruction", "")}

    def info(self) -> dict[str, Any]:
        """The info dict of the current state: the app's snapshot, the outcome, any error."""
        snap = self.snap
        return {
            "task": self.task_name,
            "instruction": snap.get("instruction", ""),
            "seed": self.episode_seed,
            "step": self.steps,
            "success": snap.get("result") == SUCCESS and self.error is None,
            "failure": snap.get("result") not in (None, SUCCESS),
            "error": self.error,
            "reason": snap.get("reason", ""),
            "elements": snap.get("elements", []),
            "focus": snap.get("focus"),
            "window": list(self.window),
            "state": snap.get("state", {}),
            "display": self.display,
            "snapshot": {"seq": snap.get("seq"), "t": snap.get("t")},
        }

    def make_expert(self, **kwargs: Any) -> Any:
        from act.envs.desktop.expert import DesktopExpert

        return DesktopExpert(self, **kwargs)

    def to_env_action(self, action: Action) -> dict[str, Any]:
        """An Action in window pixels -> the env action dict."""
        return self.space.to_env(action, self.width, self.height)
