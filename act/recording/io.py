"""Read, write and validate format-v1 episode directories.

Reading and validating are one code path: ``validate`` collects every problem, ``read_episode`` raises
``RecordingError`` carrying all of them. Nothing is dropped silently: a recording with any problem does
not load, except the torn last line of an episode the writer marked incomplete (a killed recorder),
which is reported in ``Episode.warnings``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from act.recording.errors import Problem, RecordingError
from act.recording.schema import (
    EVENT_TYPES,
    FORMAT_VERSION,
    SOURCES,
    Episode,
    EpisodeMeta,
    Event,
    Frame,
    Intent,
    Screen,
)

META, FRAMES, EVENTS, INTENTS = "meta.json", "frames.jsonl", "events.jsonl", "intents.jsonl"

_NUM = (int, float)
_EVENT_FIELDS: dict[str, tuple[type, ...]] = {
    "t": _NUM,
    "type": (str,),
    "x": _NUM,
    "y": _NUM,
    "button": (str,),
    "key": (str,),
    "text": (str,),
    "dx": _NUM,
    "dy": _NUM,
    "x2": _NUM,
    "y2": _NUM,
    "path": (list,),
    "intent": (str,),
    "target": (list,),
}
# Fields each event type must carry.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "mouse_down": ("x", "y", "button"),
    "mouse_up": ("x", "y", "button"),
    "mouse_move": ("x", "y"),
    "scroll": ("x", "y"),
    "key_down": ("key",),
    "key_up": ("key",),
    "click": ("x", "y"),
    "double_click": ("x", "y"),
    "right_click": ("x", "y"),
    "drag": ("x", "y", "x2", "y2"),
    "type": ("text",),
    "key": ("key",),
    "wait": (),
}


def find_episodes(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Episode directories (those holding meta.json) at or under ``paths``, sorted."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: set[Path] = set()
    for p in map(Path, paths):
        if not p.exists():
            raise RecordingError(Problem(str(p), None, None, "no such file or directory"))
        if (p / META).is_file():
            found.add(p)
        else:
            found.update(m.parent for m in p.rglob(META))
    return sorted(found)


def _is_num(v: Any) -> bool:
    return isinstance(v, _NUM) and not isinstance(v, bool)


def _finite(v: Any) -> bool:
    return _is_num(v) and math.isfinite(v)


class _Reader:
    """Collects problems while parsing one episode directory."""

    def __init__(self, path: Path, check_frames: bool):
        self.path = path
        self.check_frames = check_frames
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def problem(self, file: str, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(str(self.path / file), line, field, message))

    def jsonl(self, name: str, complete: bool, required: bool = True) -> Iterator[tuple[int, dict]]:
        path = self.path / name
        if not path.is_file():
            if required:
                self.problem(name, None, None, "file is missing")
            return
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        torn_tail = not text.endswith("\n") and text != ""
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                if n < len(lines):  # only the split after the final newline may be empty
                    self.problem(name, n, None, "empty line (a cut or lost record?)")
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as e:
                if torn_tail and n == len(lines) and not complete:
                    self.warnings.append(f"{path}:{n}: torn last line of an incomplete episode ignored")
                    continue
                self.problem(name, n, None, f"not valid JSON ({e.msg} at column {e.colno})")
                continue
            if not isinstance(row, dict):
                self.problem(name, n, None, f"expected a JSON object, got {type(row).__name__}")
                continue
            yield n, row

    def meta(self) -> EpisodeMeta | None:
        path = self.path / META
        if not path.is_file():
            self.problem(META, None, None, "file is missing (is this an episode directory?)")
            return None
        try:
            m = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            self.problem(META, getattr(e, "lineno", None), None, f"not valid JSON ({e})")
            return None
        if not isinstance(m, dict):
            self.problem(META, None, None, "expected a JSON object")
            return None
        before = len(self.problems)
        if m.get("format_version") != FORMAT_VERSION:
            self.problem(
                META,
                None,
                "format_version",
                f"is {m.get('format_version')!r}; this reader reads version {FORMAT_VERSION}",
            )
        for key in ("episode_id", "source", "task", "instruction"):
            if not isinstance(m.get(key), str):
                self.problem(META, None, key, f"missing or not a string ({m.get(key)!r})")
        if isinstance(m.get("source"), str) and m["source"] not in SOURCES:
            self.problem(META, None, "source", f"{m['source']!r} is not one of {SOURCES}")
        screen = m.get("screen")
        if not isinstance(screen, dict):
            self.problem(META, None, "screen", "missing or not an object {width, height, scale}")
            screen = {}
        for key in ("width", "height"):
            v = screen.get(key)
            if not (isinstance(v, int) and not isinstance(v, bool) and v > 0):
                self.problem(META, None, f"screen.{key}", f"must be a positive integer, got {v!r}")
        scale = screen.get("scale", 1.0)
        if not (_finite(scale) and scale > 0):
            self.problem(META, None, "screen.scale", f"must be a positive number, got {scale!r}")
        coords = screen.get("event_coords", "logical")
        if coords not in ("logical", "physical"):
            self.problem(META, None, "screen.event_coords", f"must be logical or physical, got {coords!r}")
        if m.get("success") not in (True, False, None):
            self.problem(META, None, "success", f"must be true, false or null, got {m.get('success')!r}")
        for key in ("perturbation", "extra"):
            if not isinstance(m.get(key, {}), dict):
                self.problem(META, None, key, "must be an object")
        if not isinstance(m.get("complete", True), bool):
            self.problem(META, None, "complete", "must be true or false")
        if len(self.problems) > before:
            return None
        return EpisodeMeta(
            episode_id=m["episode_id"],
            source=m["source"],
            task=m["task"],
            instruction=m["instruction"],
            screen=Screen(screen["width"], screen["height"], float(scale), coords),
            success=m.get("success"),
            perturbation=m.get("perturbation") or {},
            complete=m.get("complete", True),
            extra=m.get("extra") or {},
            format_version=FORMAT_VERSION,
        )

    def frames(self, complete: bool) -> list[Frame]:
        frames: list[Frame] = []
        for n, row in self.jsonl(FRAMES, complete):
            index, t = row.get("index"), row.get("t")
            bad = False
            if not (isinstance(index, int) and not isinstance(index, bool) and index >= 0):
                self.problem(FRAMES, n, "index", f"must be a non-negative integer, got {index!r}")
                bad = True
            elif index != len(frames):
                self.problem(
                    FRAMES, n, "index", f"is {index}, expected {len(frames)} (frames are numbered in order)"
                )
                bad = True
            if not _finite(t):
                self.problem(FRAMES, n, "t", f"must be a finite number, got {t!r}")
                bad = True
            elif frames and t < frames[-1].t:
                self.problem(FRAMES, n, "t", f"{t} is earlier than the previous frame's {frames[-1].t}")
            if bad:
                continue
            if self.check_frames and not (self.path / "frames" / f"{index:06d}.png").is_file():
                self.problem(
                    f"frames/{index:06d}.png",
                    None,
                    None,
                    f"frame {index} listed in {FRAMES} line {n} is missing on disk",
                )
            frames.append(Frame(index, float(t)))
        return frames

    def events(self, complete: bool) -> list[Event]:
        events: list[Event] = []
        last_t = -math.inf
        for n, row in self.jsonl(EVENTS, complete):
            before = len(self.problems)
            for key in row:
                if key not in _EVENT_FIELDS:
                    self.problem(EVENTS, n, key, "unknown field")
            for key, types in _EVENT_FIELDS.items():
                v = row.get(key)
                if v is None:
                    continue
                if not isinstance(v, types) or (types is _NUM and isinstance(v, bool)):
                    self.problem(EVENTS, n, key, f"wrong type: {type(v).__name__} ({v!r})")
                elif types is _NUM and not math.isfinite(v):
                    self.problem(EVENTS, n, key, f"must be finite, got {v!r}")
            etype = row.get("type")
            if etype is None:
                self.problem(EVENTS, n, "type", "missing")
            elif isinstance(etype, str) and etype not in EVENT_TYPES:
                self.problem(
                    EVENTS, n, "type", f"unknown event type {etype!r}; expected one of {EVENT_TYPES}"
                )
            elif isinstance(etype, str):
                for key in _REQUIRED[etype]:
                    if row.get(key) is None:
                        self.problem(EVENTS, n, key, f"missing (required for {etype})")
            if row.get("t") is None:
                self.problem(EVENTS, n, "t", "missing")
            elif _finite(row["t"]):
                if row["t"] < last_t:
                    self.problem(
                        EVENTS,
                        n,
                        "t",
                        f"{row['t']} is earlier than the previous event's {last_t} (events must be time-ordered)",
                    )
                last_t = max(last_t, row["t"])
            path = row.get("path")
            if isinstance(path, list) and not all(
                isinstance(p, list) and len(p) == 2 and all(_finite(c) for c in p) for p in path
            ):
                self.problem(EVENTS, n, "path", "must be a list of [x, y] pairs of finite numbers")
            target = row.get("target")
            if isinstance(target, list) and not (len(target) == 4 and all(_finite(c) for c in target)):
                self.problem(EVENTS, n, "target", "must be [x0, y0, x1, y1], four finite numbers")
            if len(self.problems) > before:
                continue
            if isinstance(target, list):
                row = {**row, "target": tuple(float(c) for c in target)}
            if path is not None:
                row = {**row, "path": tuple((float(a), float(b)) for a, b in path)}
            events.append(Event(**row))
        return events

    def intents(self, complete: bool) -> list[Intent]:
        intents = []
        for n, row in self.jsonl(INTENTS, complete, required=False):
            before = len(self.problems)
            for key in ("t0", "t1"):
                if not _finite(row.get(key)):
                    self.problem(INTENTS, n, key, f"must be a finite number, got {row.get(key)!r}")
            if not isinstance(row.get("label"), str):
                self.problem(INTENTS, n, "label", f"must be a string, got {row.get('label')!r}")
            if len(self.problems) == before:
                if row["t1"] < row["t0"]:
                    self.problem(INTENTS, n, "t1", f"{row['t1']} is before t0 {row['t0']}")
                    continue
                intents.append(Intent(float(row["t0"]), float(row["t1"]), row["label"]))
        return intents

    def read(self) -> Episode | None:
        if not self.path.is_dir():
            self.problems.append(Problem(str(self.path), None, None, "not an episode directory"))
            return None
        meta = self.meta()
        complete = meta.complete if meta else True
        frames = self.frames(complete)
        events = self.events(complete)
        intents = self.intents(complete)
        if meta is None:
            return None
        if not frames and not any(p.file.endswith(FRAMES) for p in self.problems):
            self.problem(FRAMES, None, None, "the episode has no frames (an empty episode)")
        if not events and not any(p.file.endswith(EVENTS) for p in self.problems):
            self.problem(EVENTS, None, None, "the episode has no events (an empty episode)")
        ep = Episode(self.path, meta, frames, events, intents, self.warnings)
        if not self.problems:
            try:
                ep.actions()
            except RecordingError as e:
                self.problems.extend(e.problems)
        return ep


def validate(path: str | Path, check_frames: bool = True) -> list[Problem]:
    """Every problem of the episode at ``path`` (empty when valid), each naming file, line and field."""
    reader = _Reader(Path(path), check_frames)
    reader.read()
    return reader.problems


def read_episode(path: str | Path, check_frames: bool = True) -> Episode:
    """Parse and check one episode directory; raise ``RecordingError`` listing every problem."""
    reader = _Reader(Path(path), check_frames)
    episode = reader.read()
    if reader.problems or episode is None:
        raise RecordingError(reader.problems)
    return episode


class EpisodeWriter:
    """Streams an episode to disk as it happens.

    meta.json is written first with ``complete: false``; every frame and event line is flushed as it
    is added, so a killed process leaves a readable prefix. ``finish()`` rewrites meta.json with
    ``complete: true`` and the outcome. Used as a context manager, an exception leaves it incomplete.
    """

    def __init__(self, path: str | Path, meta: EpisodeMeta, *, fsync: bool = False):
        self.path = Path(path)
        if self.path.exists() and any(self.path.iterdir()):
            raise FileExistsError(f"{self.path} exists and is not empty; refusing to overwrite a recording")
        (self.path / "frames").mkdir(parents=True, exist_ok=True)
        self.meta = meta
        self.meta.complete = False
        self.fsync = fsync
        self._write_meta()
        self._frames = open(self.path / FRAMES, "a", encoding="utf-8")
        self._events = open(self.path / EVENTS, "a", encoding="utf-8")
        self._intents = open(self.path / INTENTS, "a", encoding="utf-8")
        self.num_frames = 0
        self._last_t = -math.inf
        self.closed = False

    def _write_meta(self) -> None:
        tmp = self.path / (META + ".tmp")
        tmp.write_text(json.dumps(self.meta.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path / META)

    def _line(self, f, row: dict[str, Any]) -> None:
        f.write(json.dumps(row, allow_nan=False) + "\n")
        f.flush()
        if self.fsync:
            os.fsync(f.fileno())

    def add_frame(self, image: np.ndarray | Any, t: float) -> int:
        """Save a screenshot (uint8 (H, W, 3) array or PIL image) taken at time ``t``; return its index."""
        from PIL import Image

        index = self.num_frames
        im = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, np.uint8))
        im.save(self.path / "frames" / f"{index:06d}.png", compress_level=1)
        self._line(self._frames, {"index": index, "t": float(t)})
        self.num_frames += 1
        return index

    def add_event(self, event: Event) -> None:
        """Append one event; events must come in time order."""
        if not math.isfinite(event.t) or event.t < self._last_t:
            raise ValueError(
                f"event time {event.t} is not finite or earlier than the last event's {self._last_t}"
            )
        self._last_t = event.t
        self._line(self._events, event.to_json())

    def add_intent(self, intent: Intent) -> None:
        self._line(self._intents, {"t0": intent.t0, "t1": intent.t1, "label": intent.label})

    def finish(self, success: bool | None = None, **extra: Any) -> Path:
        """Close the files and mark the episode complete (with its outcome)."""
        self.close()
        self.meta.complete = True
        self.meta.success = success
        self.meta.extra.update(extra)
        self._write_meta()
        return self.path

    def close(self) -> None:
        if not self.closed:
            for f in (self._frames, self._events, self._intents):
                f.close()
            self.closed = True

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
