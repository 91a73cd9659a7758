"""Platform back ends: the screen through mss, input through pynput, and the checks that run first.

X11 and macOS. mss gives physical pixels; pynput and mss's monitor rectangles use logical pixels
(points on macOS, pixels on X11), so ``scale`` = grabbed width / region width.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any

from act.recorder.keys import key_token
from act.recorder.recorder import Recorder, RecorderError, Region

MISSING_EXTRA = "act-record needs mss and pynput (the 'record' extra): pip install 'act[record]'"


def check_environment(platform: str | None = None) -> None:
    """Raise RecorderError saying what is missing (display, permission, package) and how to fix it."""
    platform = platform or sys.platform
    if platform.startswith("linux"):
        _check_x11()
    elif platform == "darwin":
        _check_macos()
    try:
        import mss  # noqa: F401
        import pynput  # noqa: F401
    except ImportError as e:
        raise RecorderError(f"{MISSING_EXTRA} ({e})") from e


def _check_x11() -> None:
    if os.environ.get("XDG_SESSION_TYPE") == "wayland" or os.environ.get("WAYLAND_DISPLAY"):
        raise RecorderError(
            "this is a Wayland session: act-record reads the screen and input through X11, and Wayland "
            "does not let an app see other apps' windows or keys. Log in with an X11 session (e.g. "
            "'Ubuntu on Xorg' on the login screen). To record an X server anyway (Xvfb, XWayland apps "
            "only), unset WAYLAND_DISPLAY and XDG_SESSION_TYPE."
        )
    display = os.environ.get("DISPLAY")
    if not display:
        raise RecorderError(
            "no X display: DISPLAY is not set. Run act-record inside an X11 desktop session, or under "
            "a virtual X server: xvfb-run -s '-screen 0 1280x800x24' act-record ... (apt-get install xvfb)"
        )
    try:
        import Xlib.display
        import Xlib.error
    except ImportError as e:
        raise RecorderError(f"{MISSING_EXTRA} ({e})") from e
    try:
        d = Xlib.display.Display()
    except Exception as e:  # noqa: BLE001 - every way of failing to connect means the same to the user
        raise RecorderError(
            f"cannot open the X display DISPLAY={display!r} ({e}). Is the X server running, and may this "
            "user connect to it (XAUTHORITY, xhost)? Set DISPLAY to a running server or run under Xvfb."
        ) from e
    try:
        if not d.has_extension("RECORD"):
            raise RecorderError(
                f"the X server at DISPLAY={display!r} lacks the RECORD extension, which is how act-record "
                "reads mouse and keyboard input. Start Xvfb with '+extension RECORD', or on Xorg add "
                'Load "record" to the Module section of xorg.conf.'
            )
    finally:
        d.close()


def _check_macos() -> None:
    try:
        import HIServices
        import Quartz
    except ImportError as e:
        raise RecorderError(f"{MISSING_EXTRA} (pyobjc is missing: {e})") from e
    missing = []
    if not HIServices.AXIsProcessTrusted():
        missing.append("Accessibility and Input Monitoring (to read the mouse and keyboard)")
    preflight = getattr(Quartz, "CGPreflightScreenCaptureAccess", None)  # macOS 10.15+
    if preflight is not None and not preflight():
        request = getattr(Quartz, "CGRequestScreenCaptureAccess", None)
        if request is not None:
            request()  # shows the system prompt, once
        missing.append("Screen Recording (to capture the screen)")
    if missing:
        raise RecorderError(
            "act-record lacks macOS permission for " + " and ".join(missing) + ". Grant it to the app "
            "that runs act-record (Terminal, iTerm, VS Code) in System Settings > Privacy & Security, "
            "then quit and reopen that app."
        )


def _monitor(sct: Any, region: tuple[int, int, int, int] | None) -> dict[str, int]:
    if region is None:
        mon = sct.monitors[1] if len(sct.monitors) > 1 else sct.monitors[0]
        return {k: int(mon[k]) for k in ("left", "top", "width", "height")}
    left, top, width, height = region
    return {"left": left, "top": top, "width": width, "height": height}


def probe_screen(region: tuple[int, int, int, int] | None = None) -> tuple[Region, int, int]:
    """The region to record (default: the primary monitor) and its size in physical pixels."""
    import mss

    with mss.mss() as sct:
        mon = _monitor(sct, region)
        full = sct.monitors[0]
        if region is not None and not (
            full["left"] <= mon["left"]
            and full["top"] <= mon["top"]
            and mon["left"] + mon["width"] <= full["left"] + full["width"]
            and mon["top"] + mon["height"] <= full["top"] + full["height"]
        ):
            raise RecorderError(
                f"region {region} is not inside the screen "
                f"({full['left']},{full['top']},{full['width']},{full['height']})"
            )
        shot = sct.grab(mon)
    return Region(mon["left"], mon["top"], mon["width"], mon["height"]), shot.width, shot.height


class MssScreen:
    """Grabs one region with mss; create and use it in one thread."""

    def __init__(self, region: Region):
        import mss

        self._sct = mss.mss()
        self._mon = {"left": region.left, "top": region.top, "width": region.width, "height": region.height}

    def grab(self) -> tuple[int, int, bytearray]:
        shot = self._sct.grab(self._mon)
        return shot.width, shot.height, shot.raw

    def close(self) -> None:
        self._sct.close()


class PynputInput:
    """pynput mouse and keyboard listeners feeding a Recorder."""

    def __init__(self, recorder: Recorder):
        from pynput import keyboard, mouse

        self._mouse = mouse.Listener(
            on_move=lambda x, y, *_: recorder.on_move(x, y),
            on_click=lambda x, y, button, pressed, *_: recorder.on_click(x, y, _button(button), pressed),
            on_scroll=lambda x, y, dx, dy, *_: recorder.on_scroll(x, y, dx, dy),
        )
        self._keyboard = keyboard.Listener(
            on_press=lambda key, *_: key is not None and recorder.on_key(key_token(key), True),
            on_release=lambda key, *_: key is not None and recorder.on_key(key_token(key), False),
        )

    def start(self, timeout: float = 10.0) -> None:
        """Start both listeners; raise RecorderError if either is not listening within ``timeout``."""
        for listener in (self._mouse, self._keyboard):
            listener.start()
            if not _wait_ready(listener, timeout):
                self.stop()
                raise RecorderError(
                    "could not start listening to the mouse and keyboard (pynput). On X11 the server "
                    "needs the RECORD extension; on macOS grant Accessibility and Input Monitoring."
                )

    def stop(self) -> None:
        for listener in (self._mouse, self._keyboard):
            if listener.is_alive():
                listener.stop()
        # On X11 a stopped listener's thread only ends at the next input event; the recorder ignores
        # input once stopped, and the threads are daemons, so don't wait for them long.
        for listener in (self._mouse, self._keyboard):
            if listener.ident is not None:
                with contextlib.suppress(Exception):  # a listener that died already logged why
                    listener.join(timeout=0.2)


def _wait_ready(listener: Any, timeout: float) -> bool:
    """pynput's ``wait()`` blocks forever when the listener dies starting; wait in a helper thread."""
    ready = threading.Event()
    threading.Thread(target=lambda: (listener.wait(), ready.set()), daemon=True).start()
    return ready.wait(timeout) and listener.is_alive()


def _button(button: Any) -> str:
    return getattr(button, "name", None) or str(button)
