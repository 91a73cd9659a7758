"""Recording format v1 as dataclasses: the contract between recorders, simulators and the data stage.

An episode is a directory::

    meta.json        EpisodeMeta
    frames.jsonl     one Frame per line, frames/NNNNNN.png beside it
    events.jsonl     one Event per line, time-ordered
    intents.jsonl    optional: one Intent segment per line
    elements.jsonl   optional (format 1.1): one ElementSnapshot per line

See docs/recording-format.md for the worked example and act/recording/episode-v1.schema.json
for the JSON Schema.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
# 1.1 adds the optional elements.jsonl; meta.json is unchanged, so 1.0 episodes read as before and
# a 1.0 reader skips the file.
FORMAT_MINOR = 1
SOURCES = ("synthui", "miniwob", "desktop", "other")

RAW_EVENT_TYPES = ("mouse_down", "mouse_up", "mouse_move", "scroll", "key_down", "key_up")
MERGED_EVENT_TYPES = ("click", "double_click", "right_click", "drag", "type", "key", "wait")
EVENT_TYPES = RAW_EVENT_TYPES + MERGED_EVENT_TYPES

# Semantic action kinds, in the order of their ids in the action space.
ACTION_KINDS = ("noop", "wait", "click", "double_click", "right_click", "drag", "scroll", "key")
POINTER_KINDS = ("click", "double_click", "right_click", "drag", "scroll")


@dataclass(frozen=True)
class Screen:
    """The recorded screen: logical size and HiDPI factor (physical = logical * scale).

    ``event_coords`` says in which pixels events.jsonl gives x and y: ``logical`` (the default,
    what synthui and most input APIs give) or ``physical`` (divided by ``scale`` on merging).
    """

    width: int
    height: int
    scale: float = 1.0
    event_coords: str = "logical"


@dataclass
class EpisodeMeta:
    episode_id: str
    source: str
    task: str
    instruction: str
    screen: Screen
    success: bool | None = None
    perturbation: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Frame:
    index: int
    t: float


@dataclass(frozen=True)
class Event:
    """One input event, raw (mouse_down ...) or merged (click, type ...). Pixels per Screen."""

    t: float
    type: str
    x: float | None = None
    y: float | None = None
    button: str | None = None
    key: str | None = None
    text: str | None = None
    dx: float | None = None
    dy: float | None = None
    x2: float | None = None
    y2: float | None = None
    path: tuple[tuple[float, float], ...] | None = None
    intent: str | None = None
    target: tuple[float, float, float, float] | None = None  # box (x0, y0, x1, y1) aimed at, where known

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.path is not None:
            out["path"] = [list(p) for p in self.path]
        if self.target is not None:
            out["target"] = list(self.target)
        return out


@dataclass(frozen=True)
class Intent:
    t0: float
    t1: float
    label: str


@dataclass(frozen=True)
class ElementSnapshot:
    """What the screen's widgets were at time ``t``, as an accessibility API gives them (format 1.1).

    ``elements``: dicts with ``role``, ``label``, ``box`` ([x0, y0, x1, y1] in the episode's logical
    pixels) and optionally ``id``, ``focused``, ``value``, ``checked``, ``cursor``; ``focus``: the id
    of the focused element; ``window``: the application window's box, where known.
    """

    t: float
    elements: tuple[dict[str, Any], ...]
    focus: str | None = None
    window: tuple[float, float, float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": self.t, "elements": [dict(e) for e in self.elements]}
        if self.focus is not None:
            out["focus"] = self.focus
        if self.window is not None:
            out["window"] = list(self.window)
        return out


@dataclass(frozen=True)
class Action:
    """One semantic step, in logical pixels of the episode's screen.

    ``x, y``: pointer (click target, drag start, scroll position); ``x2, y2``: drag end;
    ``key``: one key token (a character, a named key such as ``enter``, or a chord ``ctrl+s``);
    ``dx, dy``: scroll amount in wheel ticks; ``duration``: seconds, for ``wait``; ``target``: the
    box (x0, y0, x1, y1) of the element a pointer action aims at, where the source knows it.
    """

    kind: str
    x: float = 0.0
    y: float = 0.0
    x2: float = 0.0
    y2: float = 0.0
    key: str | None = None
    dx: float = 0.0
    dy: float = 0.0
    duration: float = 0.0
    t: float = 0.0
    frame_index: int = -1
    intent: str | None = None
    path: tuple[tuple[float, float], ...] | None = None
    target: tuple[float, float, float, float] | None = None  # the element box aimed at, where known

    def describe(self) -> str:
        """A short human phrase: ``click at (12, 8)``."""
        if self.kind in ("click", "double_click", "right_click"):
            return f"{self.kind.replace('_', '-')} at ({self.x:.0f}, {self.y:.0f})"
        if self.kind == "drag":
            return f"drag from ({self.x:.0f}, {self.y:.0f}) to ({self.x2:.0f}, {self.y2:.0f})"
        if self.kind == "scroll":
            return f"scroll by ({self.dx:+.0f}, {self.dy:+.0f}) at ({self.x:.0f}, {self.y:.0f})"
        if self.kind == "key":
            return f"press {self.key!r}" if self.key and len(self.key) == 1 else f"press {self.key}"
        if self.kind == "wait":
            return f"wait {self.duration:.1f}s"
        return "do nothing"


@dataclass
class Episode:
    """An episode read from disk. Frames load lazily through ``frame(i)``."""

    path: Path
    meta: EpisodeMeta
    frames: list[Frame]
    events: list[Event]
    intents: list[Intent]
    warnings: list[str] = field(default_factory=list)
    # Documented acceptances met while reading (docs/recording-format.md): kind -> count.
    accepted: dict[str, int] = field(default_factory=dict)
    # elements.jsonl (format 1.1), time-ordered; empty when the episode has none
    elements: list[ElementSnapshot] = field(default_factory=list)

    def elements_at(self, t: float) -> ElementSnapshot | None:
        """The last element snapshot at or before time ``t`` (None if there is none)."""
        import bisect

        i = bisect.bisect_right([s.t for s in self.elements], t)
        return self.elements[i - 1] if i else None

    def frame_path(self, index: int) -> Path:
        return self.path / "frames" / f"{index:06d}.png"

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as uint8 (H, W, 3); ``RecordingError`` naming the file if it does not decode."""
        from PIL import Image

        from act.recording.errors import Problem, RecordingError

        path = self.frame_path(index)
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"))
        except Exception as e:  # PIL raises many types (OSError, SyntaxError, ValueError ...) for bad files
            raise RecordingError(
                Problem(str(path), None, None, f"cannot be decoded ({type(e).__name__}: {e})")
            ) from e

    def actions(self, **merge_kwargs: Any) -> list[Action]:
        """The episode's semantic actions, each paired with the last frame before it."""
        from act.recording.events import merge_events, pair_frames

        actions = merge_events(self.events, self.meta.screen, **merge_kwargs)
        return pair_frames(actions, self.frames, self.intents, source=str(self.path))
