"""The recording engine: screen frames and input events of one episode, streamed to an EpisodeWriter.

Three kinds of threads meet here:

- input callbacks (pynput's mouse and keyboard threads, or a test) call ``on_move`` / ``on_click`` /
  ``on_scroll`` / ``on_key``. Each event is stamped and queued under one lock, so events reach disk
  in time order whichever thread saw them. A press (mouse button or key) also asks for a frame.
- the capture thread owns the screen grabber (X11 connections are not shared between threads). It
  grabs at the frame rate and at every press; a press's frame carries the press's time. It is
  grabbed a few ms after the press was seen (the lag is in the stats), when a key's character or a
  fast click's effect may already be on screen, so an action pairs with the last frame *before*
  it (``act.recording.pair_frames``) and its press frame is what the next action sees.
- the writer thread is the only one that touches the ``EpisodeWriter`` (PNG encoding happens there,
  off the capture path). A killed process leaves every line written so far, marked incomplete.

Input coordinates are logical screen pixels (what pynput gives on X11 and macOS); the region offset
is subtracted here, so events are logical pixels of the recorded region.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from act.recorder.keys import Hotkey, redact
from act.recording import EpisodeWriter, Event
from act.recording.events import MODIFIERS


class ScreenSource(Protocol):
    """Grabs the recorded region: (physical width, physical height, BGRA bytes)."""

    def grab(self) -> tuple[int, int, bytes | bytearray]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Region:
    """The recorded rectangle in logical screen pixels."""

    left: int
    top: int
    width: int
    height: int

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x < self.left + self.width and self.top <= y < self.top + self.height


class RecorderError(RuntimeError):
    """The recorder cannot start or stopped on an error; the message says what to fix."""


class Recorder:
    """Streams one episode: start(), feed input callbacks, stop(reason), close() -> stats."""

    def __init__(
        self,
        writer: EpisodeWriter,
        region: Region,
        screen_factory: Callable[[], ScreenSource],
        *,
        fps: float = 5.0,
        hotkey: Hotkey | None = None,
        redact_typing: bool = False,
        keep_unchanged: bool = False,
        move_interval: float = 1 / 60,
        max_pending_frames: int = 32,
        interrupt_grace: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be a positive number, got {fps}")
        self.writer, self.region, self.fps = writer, region, fps
        self.hotkey, self.redact_typing, self.keep_unchanged = hotkey, redact_typing, keep_unchanged
        self.move_interval, self.max_pending_frames = move_interval, max_pending_frames
        self.interrupt_grace = interrupt_grace
        self._screen_factory, self._clock = screen_factory, clock
        self._lock = threading.RLock()  # stamps and orders events, guards input state; signal-safe
        self._capture_q: queue.Queue[float | None] = queue.Queue()
        self._write_q: queue.Queue[tuple | None] = queue.Queue()
        self._stopped = threading.Event()
        self._first_frame = threading.Event()
        self._accepting = False
        self._t0 = 0.0
        self._last_t = 0.0
        self._last_move_t = -math.inf
        self._buttons: set[str] = set()  # mouse buttons pressed inside the region
        self._pointer: tuple[float, float] | None = None  # last recorded pointer position (logical)
        self._keys: set[str] = set()  # keys seen pressed (lower case), so orphan releases are dropped
        self._held: set[str] = set()  # modifiers down
        self._pending: list[Event] = []  # key events held back: maybe the stop hotkey or a Ctrl-C
        self._pending_until = math.inf
        self._interrupt = False  # a ctrl+c is among the held-back events
        self._pending_frames = 0
        self._last_raw: bytes | bytearray | None = None
        self._error: BaseException | None = None
        self.stop_reason: str | None = None
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.stats: dict[str, Any] = {
            "frames": 0,
            "press_frames": 0,
            "periodic_frames": 0,
            "skipped_unchanged": 0,
            "dropped_frames": 0,
            "events": 0,
            "ignored_outside_region": 0,
        }
        self._lags: list[float] = []

    # ---- lifecycle -------------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the recording started (monotonic clock)."""
        return self._clock() - self._t0

    def start(self, timeout: float = 10.0) -> None:
        """Start the writer and capture threads; return once the first frame is grabbed."""
        self._t0 = self._clock()
        for target, name in (
            (self._write_loop, "act-record-writer"),
            (self._capture_loop, "act-record-capture"),
        ):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)
        if not self._first_frame.wait(timeout) or self._error is not None:
            error = self._error
            self.stop("error")
            with contextlib.suppress(RecorderError):
                self.close()
            raise RecorderError(f"could not capture the screen: {error or f'no frame within {timeout:g} s'}")
        with self._lock:
            self._accepting = True

    def stop(self, reason: str) -> None:
        """Ask the recording to stop (first reason wins); input after this is not recorded."""
        with self._lock:
            self._accepting = False
            if self.stop_reason is None:
                self.stop_reason = reason
            self._pending.clear()  # modifiers of the stop hotkey (or still undecided) are never written
            # A button still held at the stop is released where the pointer was, so the episode stays
            # valid (format v1: every press is released) and the drag or click it began is kept.
            for button in sorted(self._buttons) if self._pointer else ():
                self._emit(type="mouse_up", x=self._pointer[0], y=self._pointer[1], button=button)
                self.stats["released_at_stop"] = self.stats.get("released_at_stop", 0) + 1
            self._buttons.clear()
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until stop() was called (by the hotkey, a signal, an error) or ``timeout``."""
        return self._stopped.wait(timeout)

    def close(self) -> dict[str, Any]:
        """Finish capturing, write out everything queued, and return the stats; raise on a thread error."""
        if self._closed:
            return self.stats
        self._closed = True
        self.stop(self.stop_reason or "closed")
        self._capture_q.put(None)
        if len(self._threads) > 1:
            self._threads[1].join(timeout=10)  # a grab stuck on a dead display must not hang the exit
        self._write_q.put(None)
        if self._threads:
            self._threads[0].join()
        self._threads = []
        self.stats["duration_s"] = round(self.now(), 3)
        self.stats["stopped_by"] = self.stop_reason
        if self._lags:
            self.stats["press_frame_lag_ms"] = {
                "mean": round(1000 * sum(self._lags) / len(self._lags), 2),
                "max": round(1000 * max(self._lags), 2),
            }
        if self._error is not None:
            raise RecorderError(f"recording stopped on an error: {self._error}") from self._error
        return self.stats

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self.stop("error")

    # ---- input callbacks (any thread) ------------------------------------------------------------

    def _emit(self, t: float | None = None, frame: bool = False, **fields: Any) -> None:
        """Queue one event (caller holds the lock); ``frame``: grab the screen for it first."""
        t = self.now() if t is None else t
        t = max(t, self._last_t)  # several input threads: keep the file time-ordered
        self._last_t = t
        if frame:
            self._capture_q.put(t)
        if fields.get("x") is not None and fields.get("y") is not None:
            self._pointer = (fields["x"], fields["y"])
        self._write_q.put(("event", Event(t=round(t, 6), **fields)))
        self.stats["events"] += 1

    def _flush_pending(self) -> None:
        """Write the held-back key events (they were not the stop hotkey nor Ctrl-C after all)."""
        for e in self._pending:
            self._emit(t=e.t, type=e.type, key=e.key)
        self._pending.clear()
        self._pending_until = math.inf
        self._interrupt = False

    def flush_stale(self) -> None:
        """Write a held-back ctrl+c once no SIGINT followed it (called from the capture loop too)."""
        with self._lock:
            if self._pending and self.now() > self._pending_until:
                self._flush_pending()

    def _local(self, x: float, y: float) -> tuple[float, float]:
        return float(x - self.region.left), float(y - self.region.top)

    def on_move(self, x: float, y: float) -> None:
        with self._lock:
            if not self._accepting:
                return
            t = self.now()
            if not self._buttons and (
                not self.region.contains(x, y) or t - self._last_move_t < self.move_interval
            ):
                return
            self._last_move_t = t
            lx, ly = self._local(x, y)
            self._emit(t, type="mouse_move", x=lx, y=ly)

    def on_click(self, x: float, y: float, button: str, pressed: bool) -> None:
        with self._lock:
            if not self._accepting:
                return
            if pressed and not self.region.contains(x, y):
                self.stats["ignored_outside_region"] += 1
                return
            if not pressed and button not in self._buttons:
                return  # its press was outside the region or before the recording
            (self._buttons.add if pressed else self._buttons.discard)(button)
            self._flush_pending()
            lx, ly = self._local(x, y)
            self._emit(type="mouse_down" if pressed else "mouse_up", frame=pressed, x=lx, y=ly, button=button)

    def on_scroll(self, x: float, y: float, dx: float, dy: float) -> None:
        with self._lock:
            if not self._accepting:
                return
            if not self.region.contains(x, y):
                self.stats["ignored_outside_region"] += 1
                return
            self._flush_pending()
            lx, ly = self._local(x, y)
            self._emit(type="scroll", x=lx, y=ly, dx=float(dx), dy=float(dy))

    def on_key(self, token: str, pressed: bool) -> None:
        """A key (normalised token, see ``keys.key_token``) went down or up.

        Presses that may belong to the stop hotkey (its modifiers) or to a Ctrl-C typed into the
        terminal running act-record are held back until the next other input, so neither is recorded;
        a ctrl+c with no SIGINT within ``interrupt_grace`` s is written with its own time.
        """
        with self._lock:
            if not self._accepting:
                return
            t = self.now()
            if self._pending and t > self._pending_until:
                self._flush_pending()
            low = token.lower()
            if token in MODIFIERS:
                if pressed and token in self._held:
                    return  # auto-repeat of a held modifier
                (self._held.add if pressed else self._held.discard)(token)
                event = Event(t=t, type="key_down" if pressed else "key_up", key=token)
                if pressed and self.hotkey and token in self.hotkey.modifiers:
                    self._pending.append(event)  # maybe the start of the stop hotkey
                elif (self._interrupt and token == "ctrl") or any(e.key == token for e in self._pending):
                    self._pending.append(event)  # its press is held back: so is its release
                elif pressed:
                    self._flush_pending()
                    self._emit(t, type=event.type, key=token)
                else:
                    self._emit(t, type=event.type, key=token)  # a release completes no chord
                return
            if pressed and self.hotkey and self.hotkey.matches(token, self._held):
                self._accepting = False
                self.stop_reason = self.stop_reason or "hotkey"
                self._pending.clear()
                self._stopped.set()
                return
            if not pressed and low not in self._keys:
                return  # released before the recording started (e.g. the Enter that launched it)
            (self._keys.add if pressed else self._keys.discard)(low)
            key = redact(token, self._held) if self.redact_typing else token
            event = Event(t=t, type="key_down" if pressed else "key_up", key=key)
            if pressed and low == "c" and self._held == {"ctrl"}:
                self._capture_q.put(max(t, self._last_t))  # its frame now; the event waits for SIGINT
                self._pending.append(event)
                self._pending_until = t + self.interrupt_grace
                self._interrupt = True
                return
            if self._interrupt and not pressed and low == "c":
                self._pending.append(event)
                return
            self._flush_pending()
            self._emit(t, frame=pressed, type=event.type, key=key)

    # ---- capture and writer threads ----------------------------------------------------------------

    def _capture_loop(self) -> None:
        try:
            screen = self._screen_factory()
        except BaseException as e:  # noqa: BLE001 - reported through close()
            self._fail(e)
            self._first_frame.set()
            return
        try:
            period = 1.0 / self.fps
            with self._lock:
                t = self.now()
            self._grab(screen, t, "first")
            self._first_frame.set()
            due = t + period
            while True:
                self.flush_stale()
                try:
                    press_t = self._capture_q.get(timeout=max(0.0, due - self.now()))
                except queue.Empty:
                    with self._lock:  # no press may slip in between this check and the stamp
                        if not self._capture_q.empty():
                            continue
                        t = self.now()
                    self._grab(screen, t, "periodic")
                    due = max(due + period, t + 0.5 * period)  # fell behind: skip frames, don't burst
                    continue
                if press_t is None:
                    return
                # Presses queued while we grabbed share one frame, stamped at the first of them.
                done = False
                while not self._capture_q.empty():
                    done = self._capture_q.get_nowait() is None or done
                self._grab(screen, press_t, "press")
                if done:
                    return
        except BaseException as e:  # noqa: BLE001
            self._fail(e)
        finally:
            self._first_frame.set()
            with contextlib.suppress(Exception):  # closing a dead display connection
                screen.close()

    def _grab(self, screen: ScreenSource, t: float, why: str) -> None:
        """Grab and queue one frame stamped ``t``; ``why``: first, periodic or press."""
        width, height, raw = screen.grab()
        if why == "periodic":
            if not self.keep_unchanged and raw == self._last_raw:
                self.stats["skipped_unchanged"] += 1
                return
            if self._pending_frames >= self.max_pending_frames:
                self.stats["dropped_frames"] += 1  # the disk can't keep up: drop periodic frames only
                return
        elif why == "press":
            self._lags.append(max(0.0, self.now() - t))
        self._last_raw = raw
        with self._lock:
            self._pending_frames += 1
        self.stats["press_frames" if why == "press" else "periodic_frames"] += 1
        self._write_q.put(("frame", t, width, height, raw))

    def _write_loop(self) -> None:
        from PIL import Image

        while True:
            item = self._write_q.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain; the episode stays incomplete
            try:
                if item[0] == "frame":
                    _, t, width, height, raw = item
                    image = Image.frombytes("RGB", (width, height), bytes(raw), "raw", "BGRX")
                    self.writer.add_frame(image, round(t, 6))
                    self.stats["frames"] += 1
                    with self._lock:
                        self._pending_frames -= 1
                else:
                    self.writer.add_event(item[1])
            except BaseException as e:  # noqa: BLE001
                self._fail(e)
