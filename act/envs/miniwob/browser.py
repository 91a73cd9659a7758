"""A headless Chromium driven by Selenium, with a deadline on every call and a restart on failure.

Every call into the browser runs on a worker thread and must finish within ``timeout`` seconds; a
call that fails or hangs kills chromedriver and Chromium (their whole process tree) and raises
``BrowserError``. The next ``ensure()`` (every env reset calls it) starts a fresh browser.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import shutil
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

# Headless, and nothing that reaches the network or changes between runs.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--force-device-scale-factor=1",
    "--hide-scrollbars",
    "--window-size=500,400",
    "--disable-features=Translate,MediaRouter",
    "--mute-audio",
)
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# WebDriver key codes of the named keys of act's key vocabulary.
_NAMED_KEYS = {
    "enter": "\ue007",
    "tab": "\ue004",
    "backspace": "\ue003",
    "escape": "\ue00c",
    "delete": "\ue017",
    "space": " ",
    "up": "\ue013",
    "down": "\ue015",
    "left": "\ue012",
    "right": "\ue014",
    "home": "\ue011",
    "end": "\ue010",
    "page_up": "\ue00e",
    "page_down": "\ue00f",
}
_MODIFIERS = {"ctrl": "\ue009", "shift": "\ue008", "alt": "\ue00a", "cmd": "\ue03d"}
WHEEL_TICK = 50  # CSS pixels scrolled per wheel tick


class BrowserError(RuntimeError):
    """The browser died, hung or failed a command. The episode is an error; ``reset()`` restarts it."""


class ChromiumNotFound(BrowserError):
    """No Chromium or chromedriver on this machine (install Debian's chromium and chromium-driver)."""


def find_chromium() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, from ACT_CHROMIUM / ACT_CHROMEDRIVER or the PATH; None if missing."""
    browser = os.environ.get("ACT_CHROMIUM") or next(filter(None, map(shutil.which, BROWSER_NAMES)), None)
    driver = os.environ.get("ACT_CHROMEDRIVER") or shutil.which("chromedriver")
    if browser and driver and Path(browser).exists() and Path(driver).exists():
        return browser, driver
    return None


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), children first found breadth-first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@dataclass
class BrowserConfig:
    chromium: str | None = None  # default: find_chromium()
    chromedriver: str | None = None
    timeout: float = 20.0  # seconds any one call may take
    start_timeout: float = 60.0  # seconds to start the browser and load the first page


class Browser:
    """One Chromium with one page. Methods return plain data; failures raise ``BrowserError``."""

    def __init__(self, config: BrowserConfig | None = None):
        self.config = config or BrowserConfig()
        self.driver: Any = None
        self.url: str | None = None
        self.restarts = -1  # starts so far, minus the first
        self.dead_reason: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._procs: list[Any] = []  # the chromedriver Popen

    # ------------------------------------------------------------- lifecycle
    @property
    def alive(self) -> bool:
        return self.driver is not None and self.dead_reason is None

    def ensure(self) -> bool:
        """Start the browser if it is not running (or died). True if it was (re)started."""
        if self.alive:
            return False
        self.stop()
        self._start()
        return True

    def _start(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        paths = (self.config.chromium, self.config.chromedriver)
        if not all(paths):
            found = find_chromium()
            if found is None:
                raise ChromiumNotFound(
                    "Chromium or chromedriver not found: install them (Debian: apt-get install chromium "
                    "chromium-driver; or scripts/setup.sh) or set ACT_CHROMIUM and ACT_CHROMEDRIVER"
                )
            paths = found
        options = webdriver.ChromeOptions()
        options.binary_location = paths[0]
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        service = Service(paths[1], popen_kw={"start_new_session": True})
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="act-chromium")
        self.restarts += 1
        self.dead_reason = None
        self.url = None

        def start() -> Any:
            try:
                return webdriver.Chrome(service=service, options=options)
            finally:
                if getattr(service, "process", None) is not None:
                    self._procs = [service.process]

        self.driver = None
        try:
            self.driver = self._pool.submit(start).result(timeout=self.config.start_timeout)
        except FutureTimeout:
            self._kill()
            raise BrowserError(f"Chromium did not start within {self.config.start_timeout:.0f} s") from None
        except Exception as e:
            self._kill()
            raise BrowserError(f"Chromium failed to start: {type(e).__name__}: {e}") from e
        # Selenium's own HTTP timeout as a second guard behind the worker-thread deadline.
        self.driver.command_executor.client_config.timeout = self.config.timeout + 5
        self.call(lambda d: d.set_script_timeout(self.config.timeout), "set timeouts")

    def stop(self) -> None:
        """Quit the browser (kill it if quitting fails or hangs)."""
        driver, self.driver = self.driver, None
        pids = self.pids  # before quitting: Chromium's processes outlive chromedriver for a moment
        if driver is not None and self.dead_reason is None and self._pool is not None:
            with contextlib.suppress(Exception):  # a browser that will not quit is killed below
                self._pool.submit(driver.quit).result(timeout=5)
        self._kill(pids)
        self.url = None

    def _kill(self, pids: list[int] | None = None) -> None:
        """SIGKILL chromedriver and every process it started (only processes this object started)."""
        self.kill_processes(pids)
        for proc in self._procs:
            with contextlib.suppress(Exception):  # reaping is best effort
                proc.wait(timeout=5)
        self._procs = []
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def kill_processes(self, pids: list[int] | None = None) -> None:
        """SIGKILL the browser's processes, leaving Selenium unaware: what a crash looks like."""
        for pid in sorted(set(self.pids) | set(pids or ())):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    @property
    def pids(self) -> list[int]:
        """chromedriver and its descendants (Chromium's processes), deepest last."""
        return [p for proc in self._procs for p in [proc.pid, *_descendants(proc.pid)]]

    # ------------------------------------------------------------------ calls
    def call(self, fn: Callable[[Any], T], what: str, timeout: float | None = None) -> T:
        """``fn(driver)`` on the worker thread within the deadline; any failure kills the browser."""
        if not self.alive or self._pool is None:
            raise BrowserError(f"{what}: the browser is not running ({self.dead_reason or 'not started'})")
        timeout = self.config.timeout if timeout is None else timeout
        future = self._pool.submit(fn, self.driver)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            raise self.fail(f"{what}: no answer within {timeout:.0f} s (browser hung)") from None
        except Exception as e:  # noqa: BLE001 - every Selenium/transport failure means the same here
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise self.fail(f"{what}: {type(e).__name__}: {first}") from e

    def fail(self, reason: str) -> BrowserError:
        """Mark the browser dead and kill it; the error to raise."""
        self.dead_reason = reason
        self._kill()
        self.driver = None
        return BrowserError(reason)

    def script(self, source: str, *args: Any, what: str = "script") -> Any:
        return self.call(lambda d: d.execute_script(source, *args), what)

    def load(self, url: str) -> None:
        self.call(lambda d: d.get(url), f"load {url}", timeout=max(self.config.timeout, 30.0))
        self.url = url

    def screenshot(self, width: int, height: int) -> np.ndarray:
        """The top-left ``width`` x ``height`` CSS pixels of the page as uint8 (H, W, 3)."""
        from PIL import Image

        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = self.call(
            lambda d: d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "clip": clip}),
            "screenshot",
        )
        with Image.open(io.BytesIO(base64.b64decode(shot["data"]))) as im:
            frame = np.asarray(im.convert("RGB"))
        if frame.shape[:2] != (height, width):  # a HiDPI screen: back to CSS pixels
            frame = np.asarray(Image.fromarray(frame).resize((width, height), Image.BILINEAR))
        return frame

    # ------------------------------------------------------------------ input
    def pointer(self, kind: str, x: float, y: float, x2: float = 0.0, y2: float = 0.0) -> None:
        """click | double_click | right_click | drag at CSS pixel (x, y) (drag to (x2, y2))."""
        from selenium.webdriver.common.action_chains import ActionChains

        def run(d: Any) -> None:
            chain = ActionChains(d, duration=0)
            p = chain.w3c_actions.pointer_action
            p.move_to_location(int(round(x)), int(round(y)))
            if kind == "click":
                p.click()
            elif kind == "double_click":
                p.double_click()
            elif kind == "right_click":
                p.context_click()
            elif kind == "drag":
                p.click_and_hold()
                p.move_to_location(int(round((x + x2) / 2)), int(round((y + y2) / 2)))
                p.move_to_location(int(round(x2)), int(round(y2)))
                p.release()
            else:
                raise ValueError(f"unknown pointer action {kind!r}")
            chain.w3c_actions.perform()

        self.call(run, kind)

    def scroll(self, x: float, y: float, dx: float, dy: float) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        def run(d: Any) -> None:
            chain = ActionChains(d)
            chain.w3c_actions.wheel_action.scroll(
                x=int(round(x)),
                y=int(round(y)),
                delta_x=int(dx * WHEEL_TICK),
                delta_y=int(dy * WHEEL_TICK),
                duration=0,
            )
            chain.w3c_actions.perform()

        self.call(run, "scroll")

    def key(self, token: str) -> None:
        """One key of act's vocabulary: a character, a named key (``enter``) or a chord (``ctrl+a``)."""
        from selenium.webdriver.common.action_chains import ActionChains

        *mods, key = token.split("+") if len(token) > 1 and "+" in token else [token]
        code = _NAMED_KEYS.get(key, key)
        if len(code) != 1 or any(m not in _MODIFIERS for m in mods):
            return  # keys a web page has no use for (f-keys, alt+f4): nothing happens

        def run(d: Any) -> None:
            chain = ActionChains(d, duration=0)
            k = chain.w3c_actions.key_action
            for m in mods:
                k.key_down(_MODIFIERS[m])
            k.key_down(code)
            k.key_up(code)
            for m in reversed(mods):
                k.key_up(_MODIFIERS[m])
            chain.w3c_actions.perform()

        self.call(run, f"key {token!r}")

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)
