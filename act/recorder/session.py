"""One recording session: checks, banner, episode directory, stop by hotkey / signal / duration."""

from __future__ import annotations

import re
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from act.recorder.keys import Hotkey
from act.recorder.recorder import Recorder, RecorderError, Region, ScreenSource
from act.recording import EpisodeMeta, EpisodeWriter, Screen


@dataclass
class RecordConfig:
    """What ``act-record`` records: where to, which task, and how."""

    out: Path
    task: str
    instruction: str
    fps: float = 5.0
    region: tuple[int, int, int, int] | None = None  # x, y, width, height in logical pixels
    duration: float | None = None  # seconds; None: until the hotkey or Ctrl-C
    stop_key: str = "ctrl+shift+q"
    redact_typing: bool = False
    keep_unchanged: bool = False  # write periodic frames even when the screen did not change


@dataclass
class RecordResult:
    path: Path
    stats: dict[str, Any] = field(default_factory=dict)


def parse_region(text: str) -> tuple[int, int, int, int]:
    """``'x,y,w,h'`` -> (x, y, w, h); ValueError naming the problem."""
    parts = text.replace(" ", "").split(",")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"region {text!r}: expected four integers x,y,width,height, e.g. 0,0,1280,800"
        ) from None
    if w <= 0 or h <= 0:
        raise ValueError(f"region {text!r}: width and height must be positive")
    return x, y, w, h


def next_episode_dir(out: Path) -> Path:
    """``out/ep_NNNNNN`` with the next free number, so repeated sessions accumulate side by side."""
    out.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in out.iterdir() if (m := re.fullmatch(r"ep_(\d{6})", p.name))]
    return out / f"ep_{max(numbers, default=0) + 1:06d}"


def banner(cfg: RecordConfig, region: Region, path: Path, hotkey: Hotkey) -> str:
    """What is being recorded and where it goes (printed before the first frame is taken)."""
    typing = (
        "typed characters replaced by '*' (--redact-typing); named keys and shortcuts kept"
        if cfg.redact_typing
        else "every key as typed, passwords included (use --redact-typing to hide typed characters)"
    )
    stop = f"press {hotkey} (not recorded) or Ctrl-C" + (
        f", or wait {cfg.duration:g} s" if cfg.duration else ""
    )
    return (
        f"act-record: RECORDING the screen region x={region.left} y={region.top} "
        f"{region.width}x{region.height} "
        f"at {cfg.fps:g} frames/s and at every click and key press,\n"
        f"  mouse moves, clicks, drags and scrolls inside it, and the keyboard: {typing}.\n"
        f"  Writing to {path}\n  To stop: {stop}."
    )


def record(
    cfg: RecordConfig,
    *,
    log: TextIO | None = None,
    screen_factory: Callable[[Region], ScreenSource] | None = None,
    input_factory: Callable[[Recorder], Any] | None = None,
    probe: Callable[[tuple[int, int, int, int] | None], tuple[Region, int, int]] | None = None,
) -> RecordResult:
    """Record one episode into ``cfg.out/ep_NNNNNN``; return its path and stats.

    The factories replace mss / pynput (tests); with the defaults the platform is checked first and
    a ``RecorderError`` says what is missing. Ctrl-C and SIGTERM stop the recording cleanly.
    """
    from act.recorder import backends

    log = log or sys.stderr
    hotkey = Hotkey.parse(cfg.stop_key)
    if screen_factory is None or input_factory is None:
        backends.check_environment()
    region, phys_w, phys_h = (probe or backends.probe_screen)(cfg.region)
    screen_factory = screen_factory or backends.MssScreen
    input_factory = input_factory or backends.PynputInput

    path = next_episode_dir(Path(cfg.out))
    scale = round(phys_w / region.width, 4)
    settings = {k: v for k, v in asdict(cfg).items() if k not in ("out", "task", "instruction")}
    settings.update(
        stop_key=str(hotkey),
        platform=sys.platform,
        frame_size=[phys_w, phys_h],
        region=[region.left, region.top, region.width, region.height],
    )
    meta = EpisodeMeta(
        episode_id=f"desktop-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}",
        source="desktop",
        task=cfg.task,
        instruction=cfg.instruction,
        screen=Screen(region.width, region.height, scale, "logical"),
        extra={"recorder": settings},
    )
    print(banner(cfg, region, path, hotkey), file=log, flush=True)
    writer = EpisodeWriter(path, meta)
    rec = Recorder(
        writer,
        region,
        lambda: screen_factory(region),
        fps=cfg.fps,
        hotkey=hotkey,
        redact_typing=cfg.redact_typing,
        keep_unchanged=cfg.keep_unchanged,
    )
    restore = _on_signals(lambda name: rec.stop(name))
    inputs, started = None, False
    cpu0 = time.process_time()
    try:
        rec.start()
        inputs = input_factory(rec)
        inputs.start()
        started = True
        print("act-record: recording started.", file=log, flush=True)
        while not rec.wait(0.1):
            if cfg.duration is not None and rec.now() >= cfg.duration:
                rec.stop("duration")
    finally:
        restore()
        if inputs is not None:
            inputs.stop()
        try:
            stats = rec.close()
        finally:
            writer.close()
            if not started:
                shutil.rmtree(path, ignore_errors=True)  # nothing was recorded: leave no empty episode
    stats["cpu_s"] = round(time.process_time() - cpu0, 3)  # the whole process: capture, encoding, input
    if stats["events"] == 0:
        shutil.rmtree(path, ignore_errors=True)
        raise RecorderError("no mouse or keyboard input was recorded, so no episode was saved")
    writer.finish(success=None, recording=stats)
    return RecordResult(path, stats)


def _on_signals(handler: Callable[[str], None]) -> Callable[[], None]:
    """Route SIGINT / SIGTERM to ``handler`` (main thread only); return the function that restores them."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    names = {signal.SIGINT: "sigint", signal.SIGTERM: "sigterm"}
    old = {s: signal.signal(s, lambda num, _frame: handler(names[num])) for s in names}
    return lambda: [signal.signal(s, h) for s, h in old.items()]
