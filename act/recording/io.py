"""Read, write and validate format-v1 episode directories.

Reading and validating are one code path: ``validate`` collects every problem, ``read_episode`` raises
``RecordingError`` carrying all of them. Nothing is changed silently: a recording with any problem does
not load. The few things the reader accepts and changes are listed in docs/recording-format.md
("What the reader accepts") and counted in ``validation_report(...).accepted`` and ``Episode.accepted``.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from act.recording.errors import Problem, RecordingError
from act.recording.events import normalize_key
from act.recording.schema import (
    EVENT_TYPES,
    FORMAT_VERSION,
    SOURCES,
    ElementSnapshot,
    Episode,
    EpisodeMeta,
    Event,
    Frame,
    Intent,
    Screen,
)

META, FRAMES, EVENTS, INTENTS = "meta.json", "frames.jsonl", "events.jsonl", "intents.jsonl"
SET_ASIDE = ".failed"  # a directory named *.failed holds episodes kept out of training (find_episodes)
ELEMENTS = "elements.jsonl"  # optional, format 1.1 (1.2: text_box may be null; 1.3: value_box)

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
_META_FIELDS = (
    "format_version",
    "episode_id",
    "source",
    "task",
    "instruction",
    "screen",
    "success",
    "perturbation",
    "complete",
    "extra",
)
_SCREEN_FIELDS = ("width", "height", "scale", "event_coords")
_SNAPSHOT_FIELDS = ("t", "elements", "focus", "window")
# an element's boxes in screen pixels; all but "box" may be null (nothing drawn there)
ELEMENT_BOXES = ("box", "text_box", "value_box")
# fields of one element of a snapshot -> their JSON types; role, label and box are required
_ELEMENT_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "role": (str,),
    "label": (str,),
    "box": (list,),
    "text_box": (list, type(None)),  # null: the label is drawn nowhere (format 1.2)
    "value_box": (list, type(None)),  # where a text field's value is drawn; null: empty (format 1.3)
    "focused": (bool,),
    "value": (str,),
    "checked": (bool,),
    "cursor": (int,),
}
# 8-bit PNG modes a frame may have (read as RGB; alpha dropped). 16-bit would be cut to 8 bits.
_FRAME_MODES = ("RGB", "RGBA", "L", "LA", "P", "1")
# Event types whose points become action coordinates (clamped to the screen when outside it).
_POINTER_EVENTS = ("mouse_down", "mouse_up", "scroll", "click", "double_click", "right_click", "drag")
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


def find_episodes(
    paths: str | Path | Iterable[str | Path], *, unique: bool = True, required: bool = True
) -> list[Path]:
    """Episode directories (those holding meta.json) at or under ``paths``, sorted.

    Symbolic links to directories are followed (each real directory is visited once, so a link
    cycle ends). A directory named ``*.failed`` below a given path holds episodes kept but not to
    be trained on (``act-generate env=desktop`` sets failed ones aside there) and is skipped; name it
    directly to read it. With ``unique`` two episodes with the same ``episode_id`` raise ``RecordingError``;
    with ``required`` so does a given directory that holds no episode.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: set[Path] = set()
    seen: set[str] = set()
    for p in map(Path, paths):
        if not p.exists():
            raise RecordingError(Problem(str(p), None, None, "no such file or directory"))
        if (p / META).is_file():
            found.add(p)
            seen.add(os.path.realpath(p))
    for p in map(Path, paths):
        for dirpath, dirnames, filenames in os.walk(p, followlinks=True):
            dirnames[:] = [d for d in dirnames if not d.endswith(SET_ASIDE)]
            real = os.path.realpath(dirpath)
            if real in seen and Path(dirpath) not in found:
                dirnames[:] = []  # reached again through a link: read each episode once
                continue
            seen.add(real)
            if META in filenames:
                found.add(Path(dirpath))
        if required and p.is_dir() and not any(f == p or p in f.parents for f in found):
            raise RecordingError(
                Problem(
                    str(p / META),
                    None,
                    None,
                    f"file is missing, and no episode directory (with {META}) is under {p}",
                )
            )
    episodes = sorted(found)
    if unique:
        problems = duplicate_episode_ids(episodes)
        if problems:
            raise RecordingError(problems)
    return episodes


def duplicate_episode_ids(paths: Iterable[str | Path]) -> list[Problem]:
    """A problem for every episode whose meta.json repeats an earlier episode's ``episode_id``."""
    first: dict[str, Path] = {}
    problems = []
    for p in map(Path, paths):
        try:
            episode_id = json.loads((p / META).read_bytes()).get("episode_id")
        except (OSError, ValueError, RecursionError, AttributeError):
            continue  # an unreadable meta.json is the reader's problem to report
        if not isinstance(episode_id, str):
            continue
        if episode_id in first:
            problems.append(
                Problem(
                    str(p / META),
                    None,
                    "episode_id",
                    f"{episode_id!r} is also the episode_id of {first[episode_id] / META} "
                    "(ids must be unique)",
                )
            )
        else:
            first[episode_id] = p
    return problems


def _is_num(v: Any) -> bool:
    return isinstance(v, _NUM) and not isinstance(v, bool)


def _finite(v: Any) -> bool:
    """A number a float can hold exactly enough: not NaN, not infinite, not an int beyond float range."""
    if not _is_num(v):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float (JSON allows 10**400)
        return False


def _box(v: Any) -> bool:
    """[x0, y0, x1, y1] of finite numbers with x0 <= x1 and y0 <= y1."""
    return (
        isinstance(v, list) and len(v) == 4 and all(_finite(c) for c in v) and v[0] <= v[2] and v[1] <= v[3]
    )


def _parse(text: str) -> tuple[Any, str | None]:
    """(value, None) or (None, why not) for one JSON document."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        return None, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply to parse)"
    except ValueError as e:  # e.g. an integer literal longer than Python's digit limit
        return None, f"not valid JSON ({e})"


def _frame_size_ok(size: tuple[int, int], screen: Screen) -> bool:
    """A frame is the screen's logical size or its physical size (logical * scale, to a pixel)."""
    if size == (screen.width, screen.height):
        return True
    try:
        return (
            abs(size[0] - screen.width * screen.scale) <= 1
            and abs(size[1] - screen.height * screen.scale) <= 1
        )
    except OverflowError:
        return False


@dataclass
class ValidationReport:
    """What ``validation_report`` found: problems (the recording does not load), warnings and the
    count of each documented acceptance (docs/recording-format.md, "What the reader accepts")."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    accepted: Counter = field(default_factory=Counter)
    episodes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


class _Reader:
    """Collects problems while parsing one episode directory."""

    def __init__(self, path: Path, check_frames: bool):
        self.path = path
        self.check_frames = check_frames
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.accepted: Counter = Counter()

    def problem(self, file: str, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(str(self.path / file), line, field, message))

    def accept(self, kind: str, warning: str | None = None) -> None:
        self.accepted[kind] += 1
        if warning:
            self.warnings.append(warning)

    def inside(self, name: str) -> bool:
        """False (and a problem) when ``name`` resolves, through symbolic links, outside the episode."""
        real, root = os.path.realpath(self.path / name), os.path.realpath(self.path)
        if os.path.commonpath([real, root]) == root:
            return True
        self.problem(name, None, None, f"is a symbolic link to {real}, outside the episode directory")
        return False

    def read_bytes(self, name: str) -> bytes | None:
        try:
            return (self.path / name).read_bytes()
        except OSError as e:
            self.problem(name, None, None, f"cannot be read ({e.strerror or e})")
            return None

    def jsonl(self, name: str, complete: bool, required: bool = True) -> Iterator[tuple[int, dict]]:
        path = self.path / name
        if not path.is_file():
            if required:
                self.problem(name, None, None, "file is missing")
            return
        if not self.inside(name):
            return
        data = self.read_bytes(name)
        if data is None:
            return
        lines = data.split(b"\n")
        torn_tail = data != b"" and not data.endswith(b"\n")
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                if n < len(lines):  # only the split after the final newline may be empty
                    self.problem(name, n, None, "empty line (a cut or lost record?)")
                continue
            torn = torn_tail and n == len(lines) and not complete
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                if torn:  # a cut can split a multi-byte character
                    self.accept(
                        "torn_last_line", f"{path}:{n}: torn last line of an incomplete episode ignored"
                    )
                    continue
                self.problem(
                    name,
                    n,
                    None,
                    f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the line)",
                )
                continue
            row, why = _parse(text)
            if why is not None:
                if torn:
                    self.accept(
                        "torn_last_line", f"{path}:{n}: torn last line of an incomplete episode ignored"
                    )
                    continue
                self.problem(name, n, None, why)
                continue
            if not isinstance(row, dict):
                self.problem(name, n, None, f"expected a JSON object, got {type(row).__name__}")
                continue
            yield n, row

    def unknown_fields(
        self, file: str, line: int | None, row: dict, known: Iterable[str], prefix: str = ""
    ) -> None:
        for key in row:
            if key not in known:
                self.problem(file, line, prefix + key, "unknown field (not in format v1)")

    def meta(self) -> EpisodeMeta | None:
        path = self.path / META
        if not path.is_file():
            self.problem(META, None, None, "file is missing (is this an episode directory?)")
            return None
        if not self.inside(META):
            return None
        data = self.read_bytes(META)
        if data is None:
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            self.problem(META, line, None, f"not valid UTF-8 (byte 0x{data[e.start]:02x})")
            return None
        m, why = _parse(text)
        if why is not None:
            self.problem(META, None, None, why)
            return None
        if not isinstance(m, dict):
            self.problem(META, None, None, f"expected a JSON object, got {type(m).__name__}")
            return None
        before = len(self.problems)
        self.unknown_fields(META, None, m, _META_FIELDS)
        if m.get("format_version") != FORMAT_VERSION or isinstance(m.get("format_version"), bool):
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
        self.unknown_fields(META, None, screen, _SCREEN_FIELDS, prefix="screen.")
        for key in ("width", "height"):
            v = screen.get(key)
            if not (isinstance(v, int) and _finite(v) and v > 0):  # _finite: not beyond float range
                self.problem(META, None, f"screen.{key}", f"must be a positive integer, got {_short(v)}")
        scale = screen.get("scale", 1.0)
        if not (_finite(scale) and scale > 0):
            self.problem(META, None, "screen.scale", f"must be a positive finite number, got {scale!r}")
        coords = screen.get("event_coords", "logical")
        if coords not in ("logical", "physical"):
            self.problem(META, None, "screen.event_coords", f"must be logical or physical, got {coords!r}")
        if not (m.get("success") is None or isinstance(m.get("success"), bool)):
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

    def frame_file(self, index: int, line: int, screen: Screen | None, sizes: dict) -> None:
        """The PNG of frame ``index`` exists inside the episode, is whole (every chunk's checksum) and
        has the screen's logical or physical size, the same as frame 0."""
        from PIL import Image

        name = f"frames/{index:06d}.png"
        if not (self.path / name).is_file():
            self.problem(name, None, None, f"frame {index} listed in {FRAMES} line {line} is missing on disk")
            return
        if not self.inside(name):
            return
        try:
            with Image.open(self.path / name) as im:
                fmt, size, mode = im.format, im.size, im.mode
                im.verify()  # reads every chunk and checks its CRC, without decoding pixels
        except Exception as e:  # PIL raises many types (OSError, SyntaxError, struct.error ...) for bad files
            self.problem(name, None, None, f"not a readable PNG image ({type(e).__name__}: {e})")
            return
        if fmt != "PNG":
            self.problem(name, None, None, f"is a {fmt} image, not PNG")
            return
        if mode not in _FRAME_MODES:
            self.problem(
                name, None, None, f"has pixel mode {mode}; frames are 8-bit ({', '.join(_FRAME_MODES)})"
            )
            return
        if screen is not None and not _frame_size_ok(size, screen):
            physical = f"{screen.width * screen.scale:g}x{screen.height * screen.scale:g}"
            self.problem(
                name,
                None,
                None,
                f"is {size[0]}x{size[1]} pixels; the screen in {META} is {screen.width}x{screen.height} "
                f"(physical {physical}); a frame of another size would be stretched",
            )
        elif sizes.setdefault("first", size) != size:
            first = sizes["first"]
            self.problem(
                name, None, None, f"is {size[0]}x{size[1]} pixels but frame 0 is {first[0]}x{first[1]}"
            )

    def frames(self, complete: bool, screen: Screen | None) -> list[Frame]:
        frames: list[Frame] = []
        sizes: dict = {}
        for n, row in self.jsonl(FRAMES, complete):
            index, t = row.get("index"), row.get("t")
            bad = False
            self.unknown_fields(FRAMES, n, row, ("index", "t"))
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
            if self.check_frames:
                self.frame_file(index, n, screen, sizes)
            frames.append(Frame(index, float(t)))
        return frames

    def clamped(self, row: dict, screen: Screen) -> bool:
        """Whether a pointer event has a point outside the screen (merging clamps it to the edge)."""
        factor = 1.0 / screen.scale if screen.event_coords == "physical" else 1.0
        points = [(row.get("x"), row.get("y")), (row.get("x2"), row.get("y2"))]
        points += [tuple(p) for p in row.get("path") or ()]
        target = row.get("target")
        if target:
            points += [tuple(target[:2]), tuple(target[2:])]
        return any(
            not (0.0 <= (x or 0.0) * factor <= screen.width and 0.0 <= (y or 0.0) * factor <= screen.height)
            for x, y in points
            if x is not None or y is not None
        )

    def events(self, complete: bool, screen: Screen | None) -> list[Event]:
        events: list[Event] = []
        last_t = -math.inf
        held: dict[str, int] = {}  # mouse button -> line of its press
        for n, row in self.jsonl(EVENTS, complete):
            before = len(self.problems)
            self.unknown_fields(EVENTS, n, row, _EVENT_FIELDS)
            for key, types in _EVENT_FIELDS.items():
                v = row.get(key)
                if v is None:
                    continue
                if not isinstance(v, types) or (types is _NUM and isinstance(v, bool)):
                    self.problem(EVENTS, n, key, f"wrong type: {type(v).__name__} ({_short(v)})")
                elif types is _NUM and not _finite(v):
                    self.problem(EVENTS, n, key, f"must be a finite number, got {_short(v)}")
                elif key in ("key", "button", "text") and v == "":
                    self.problem(EVENTS, n, key, "must not be empty")
                elif key == "key" and normalize_key(v) == "":
                    self.problem(EVENTS, n, key, f"{v!r} names no key")
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
                        f"{row['t']} is earlier than the previous event's {last_t} "
                        "(events must be time-ordered)",
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
            button = row.get("button")
            if etype == "mouse_down":
                if button in held:
                    self.problem(
                        EVENTS,
                        n,
                        "button",
                        f"{button!r} pressed again while still held since line {held[button]} "
                        "(that press would be lost)",
                    )
                    continue
                held[button] = n
            elif etype == "mouse_up" and held.pop(button, None) is None:
                self.accept("release_without_press")  # its press came before the recording started
            if screen is not None and etype in _POINTER_EVENTS and self.clamped(row, screen):
                self.accept("clamped_point")
            if isinstance(target, list):
                row = {**row, "target": tuple(float(c) for c in target)}
            if path is not None:
                row = {**row, "path": tuple((float(a), float(b)) for a, b in path)}
            events.append(Event(**row))
        for button, n in held.items():
            if complete:
                self.problem(
                    EVENTS,
                    n,
                    "button",
                    f"mouse_down of {button!r} is never released (the press would be lost)",
                )
            else:
                self.accept(
                    "unreleased_press",
                    f"{self.path / EVENTS}:{n}: press of {button!r} never released "
                    "in an incomplete episode ignored",
                )
        return events

    def intents(self, complete: bool) -> list[Intent]:
        intents = []
        for n, row in self.jsonl(INTENTS, complete, required=False):
            before = len(self.problems)
            self.unknown_fields(INTENTS, n, row, ("t0", "t1", "label"))
            for key in ("t0", "t1"):
                if not _finite(row.get(key)):
                    self.problem(INTENTS, n, key, f"must be a finite number, got {_short(row.get(key))}")
            if not isinstance(row.get("label"), str):
                self.problem(INTENTS, n, "label", f"must be a string, got {_short(row.get('label'))}")
            if len(self.problems) == before:
                if row["t1"] < row["t0"]:
                    self.problem(INTENTS, n, "t1", f"{row['t1']} is before t0 {row['t0']}")
                    continue
                intents.append(Intent(float(row["t0"]), float(row["t1"]), row["label"]))
        return intents

    def elements(self, complete: bool) -> list[ElementSnapshot]:
        """elements.jsonl (format 1.1): snapshots in time order; an episode without the file has none."""
        snaps: list[ElementSnapshot] = []
        last = -math.inf
        for n, row in self.jsonl(ELEMENTS, complete, required=False):
            before = len(self.problems)
            self.unknown_fields(ELEMENTS, n, row, _SNAPSHOT_FIELDS)
            t = row.get("t")
            if not _finite(t) or t < 0:
                self.problem(ELEMENTS, n, "t", f"must be a finite number >= 0, got {_short(t)}")
            elif t < last:
                self.problem(ELEMENTS, n, "t", f"{t} is before the previous snapshot's {last}")
            focus, window = row.get("focus"), row.get("window")
            if focus is not None and not isinstance(focus, str):
                self.problem(ELEMENTS, n, "focus", f"must be a string or null, got {_short(focus)}")
            if window is not None and not _box(window):
                self.problem(ELEMENTS, n, "window", f"must be a box [x0, y0, x1, y1], got {_short(window)}")
            items = row.get("elements")
            if not isinstance(items, list):
                self.problem(ELEMENTS, n, "elements", f"must be a list, got {_short(items)}")
                items = []
            for i, el in enumerate(items):
                self.element(n, i, el)
            if len(self.problems) == before:
                last = t
                box = None if window is None else tuple(float(c) for c in window)
                snaps.append(ElementSnapshot(float(t), tuple(items), focus, box))
        return snaps

    def element(self, n: int, i: int, el: Any) -> None:
        where = f"elements[{i}]"
        if not isinstance(el, dict):
            self.problem(ELEMENTS, n, where, f"must be an object, got {_short(el)}")
            return
        self.unknown_fields(ELEMENTS, n, el, _ELEMENT_FIELDS, prefix=f"{where}.")
        for key in ("role", "label", "box"):
            if key not in el:
                self.problem(ELEMENTS, n, f"{where}.{key}", "is missing")
        for key, types in _ELEMENT_FIELDS.items():
            if key not in el:
                continue
            value = el[key]
            ok = isinstance(value, types) and (bool in types or not isinstance(value, bool))
            if key in ELEMENT_BOXES and not (key != "box" and value is None):
                ok = _box(value)
            if not ok:
                want = "a box [x0, y0, x1, y1]" if key in ELEMENT_BOXES else f"of type {types[0].__name__}"
                self.problem(ELEMENTS, n, f"{where}.{key}", f"must be {want}, got {_short(value)}")

    def read(self) -> Episode | None:
        if not self.path.is_dir():
            self.problems.append(Problem(str(self.path), None, None, "not an episode directory"))
            return None
        meta = self.meta()
        complete = meta.complete if meta else True
        screen = meta.screen if meta else None
        frames = self.frames(complete, screen)
        events = self.events(complete, screen)
        intents = self.intents(complete)
        elements = self.elements(complete)
        if meta is None:
            return None
        if not frames and not any(p.file.endswith(FRAMES) for p in self.problems):
            self.problem(FRAMES, None, None, "the episode has no frames (an empty episode)")
        if not events and not any(p.file.endswith(EVENTS) for p in self.problems):
            self.problem(EVENTS, None, None, "the episode has no events (an empty episode)")
        ep = Episode(self.path, meta, frames, events, intents, self.warnings, dict(self.accepted), elements)
        if not self.problems:
            try:
                ep.actions()
            except RecordingError as e:
                self.problems.extend(e.problems)
        return ep


def _short(v: Any) -> str:
    """repr of a value, cut to 60 characters (a bad value can be a megabyte)."""
    try:
        r = repr(v)
    except (ValueError, RecursionError):  # an int beyond the digit limit has no repr
        r = f"<{type(v).__name__}>"
    return r if len(r) <= 60 else r[:57] + "..."


def validation_report(path: str | Path, check_frames: bool = True) -> ValidationReport:
    """Problems, warnings and documented acceptances of the episode at ``path``, or of every episode
    under it (then also duplicate episode_ids)."""
    path = Path(path)
    report = ValidationReport()
    paths = [path]
    if path.is_dir() and not (path / META).exists():
        paths = find_episodes(path, unique=False, required=False) or [path]
        report.problems += duplicate_episode_ids(paths)
    for p in paths:
        reader = _Reader(p, check_frames)
        reader.read()
        report.problems += reader.problems
        report.warnings += reader.warnings
        report.accepted.update(reader.accepted)
        report.episodes += 1
    return report


def validate(path: str | Path, check_frames: bool = True) -> list[Problem]:
    """Every problem of the episode (or episodes) at ``path`` (empty when valid), each naming file,
    line and field."""
    return validation_report(path, check_frames).problems


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
        self._elements: Any = None  # elements.jsonl, opened at the first snapshot (format 1.1)
        self._last_elements_t = -math.inf
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

    def add_elements(self, snapshot: ElementSnapshot) -> None:
        """Append one element snapshot (format 1.1); snapshots must come in time order."""
        if not math.isfinite(snapshot.t) or snapshot.t < max(self._last_elements_t, 0.0):
            raise ValueError(
                f"snapshot time {snapshot.t} is not finite, negative or earlier than the last "
                f"snapshot's {self._last_elements_t}"
            )
        self._last_elements_t = snapshot.t
        if self._elements is None:
            self._elements = open(self.path / ELEMENTS, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._line(self._elements, snapshot.to_json())

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
            for f in (self._frames, self._events, self._intents, self._elements):
                if f is not None:
                    f.close()
            self.closed = True

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
