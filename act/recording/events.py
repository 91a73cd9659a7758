"""Raw input events -> semantic actions (click, double-click, drag, key, scroll, wait).

Rules (thresholds in ``MergeConfig``, all in logical pixels and seconds):

- mouse_down + mouse_up of the same button: a ``drag`` when the pointer went further than
  ``drag_distance`` from where it was pressed (path kept), else a ``click`` (left/middle) or
  ``right_click`` (right).
- Two left clicks whose second press comes within ``double_click_time`` of the first release and
  within ``double_click_distance`` of it become one ``double_click``.
- key_down of a non-modifier key: one ``key`` action. Typed text is one key per character. With
  ctrl/alt/cmd held the key is a chord token such as ``ctrl+s`` (modifiers in the order ctrl, alt,
  shift, cmd). Shift alone with a character gives the shifted character itself.
- Consecutive scroll events less than ``scroll_gap`` apart and within ``drag_distance`` of each other
  sum into one ``scroll``.
- An idle gap longer than ``wait_gap`` between two actions becomes a ``wait`` of that duration.
- Coordinates given in physical pixels (``screen.event_coords == "physical"``) are divided by
  ``screen.scale``; points outside the screen are clamped to its edge.
- Events are stably sorted by time first (recorders with several input threads can interleave).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from act.recording.errors import Problem, RecordingError
from act.recording.schema import Action, Event, Frame, Intent, Screen

MODIFIERS = ("ctrl", "alt", "shift", "cmd")
_ALIASES = {
    "return": "enter",
    "kp_enter": "enter",
    "esc": "escape",
    "del": "delete",
    "back_space": "backspace",
    "pageup": "page_up",
    "prior": "page_up",
    "pagedown": "page_down",
    "next": "page_down",
    "space": " ",
    "arrowup": "up",
    "arrowdown": "down",
    "arrowleft": "left",
    "arrowright": "right",
    "control": "ctrl",
    "control_l": "ctrl",
    "control_r": "ctrl",
    "ctrl_l": "ctrl",
    "ctrl_r": "ctrl",
    "alt_l": "alt",
    "alt_r": "alt",
    "alt_gr": "alt",
    "option": "alt",
    "meta": "cmd",
    "shift_l": "shift",
    "shift_r": "shift",
    "cmd_l": "cmd",
    "cmd_r": "cmd",
    "super": "cmd",
    "super_l": "cmd",
    "super_r": "cmd",
    "win": "cmd",
    "command": "cmd",
}
_TEXT_KEYS = {"\n": "enter", "\r": "enter", "\t": "tab", "\b": "backspace"}


@dataclass(frozen=True)
class MergeConfig:
    double_click_time: float = 0.4
    double_click_distance: float = 4.0
    drag_distance: float = 5.0
    scroll_gap: float = 0.3
    wait_gap: float = 1.0


def normalize_key(key: str) -> str:
    """A key name as one token: 'Return' -> 'enter', 'a' -> 'a', '\\x13' (ctrl+s) -> 's'."""
    if len(key) == 1:
        if ord(key) < 32:
            return _TEXT_KEYS.get(key) or chr(ord(key) + 96)
        return key
    low = key.lower().removeprefix("key.")
    return _ALIASES.get(low, low)


def _chord(mods: set[str], key: str) -> str:
    if not mods & {"ctrl", "alt", "cmd"}:
        return f"shift+{key}" if "shift" in mods and len(key) > 1 else key
    base = key.lower() if len(key) == 1 else key
    return "+".join([m for m in MODIFIERS if m in mods] + [base])


def merge_events(events: Sequence[Event], screen: Screen, config: MergeConfig | None = None) -> list[Action]:
    """Semantic actions in time order, in logical pixels; see the module docstring for the rules."""
    cfg = config or MergeConfig()
    factor = 1.0 / screen.scale if screen.event_coords == "physical" else 1.0

    def pt(x: float | None, y: float | None) -> tuple[float, float]:
        x, y = (x or 0.0) * factor, (y or 0.0) * factor
        return min(max(x, 0.0), float(screen.width)), min(max(y, 0.0), float(screen.height))

    def box(e: Event) -> tuple[float, float, float, float] | None:
        return None if e.target is None else (*pt(*e.target[:2]), *pt(*e.target[2:]))

    actions: list[Action] = []
    ends: list[float] = []  # when each action finished (mouse release), for wait gaps and double-clicks
    held: set[str] = set()
    pressed: dict[str, tuple[Event, list[tuple[float, float]]]] = {}

    def emit(action: Action, end: float | None = None) -> None:
        actions.append(action)
        ends.append(action.t if end is None else end)

    def emit_click(
        kind: str, x: float, y: float, t: float, end: float, intent: str | None, target=None
    ) -> None:
        if kind == "click" and actions and actions[-1].kind == "click":
            prev = actions[-1]
            if (
                t - ends[-1] <= cfg.double_click_time
                and math.dist((prev.x, prev.y), (x, y)) <= cfg.double_click_distance
            ):
                actions[-1] = replace(prev, kind="double_click", intent=prev.intent or intent)
                ends[-1] = end
                return
        emit(Action(kind, x, y, t=t, intent=intent, target=target), end)

    for e in sorted(events, key=lambda e: e.t):
        if e.type == "mouse_move":
            for _, path in pressed.values():
                path.append(pt(e.x, e.y))
        elif e.type == "mouse_down":
            pressed[e.button or "left"] = (e, [pt(e.x, e.y)])
        elif e.type == "mouse_up":
            down = pressed.pop(e.button or "left", None)
            if down is None:
                continue  # a release whose press came before the recording started
            start, path = down
            path.append(pt(e.x, e.y))
            (x, y), (x2, y2) = path[0], path[-1]
            if max(math.dist((x, y), p) for p in path) > cfg.drag_distance:
                emit(
                    Action(
                        "drag",
                        x,
                        y,
                        x2,
                        y2,
                        t=start.t,
                        intent=start.intent or e.intent,
                        path=tuple(path),
                        target=box(start),
                    ),
                    e.t,
                )
            else:
                kind = "right_click" if (e.button or "left") == "right" else "click"
                emit_click(kind, x, y, start.t, e.t, start.intent or e.intent, box(start))
        elif e.type in ("click", "right_click", "double_click"):
            x, y = pt(e.x, e.y)
            if e.type == "click":
                emit_click("click", x, y, e.t, e.t, e.intent, box(e))
            else:
                emit(Action(e.type, x, y, t=e.t, intent=e.intent, target=box(e)))
        elif e.type == "drag":
            (x, y), (x2, y2) = pt(e.x, e.y), pt(e.x2, e.y2)
            path = tuple(pt(*p) for p in e.path) if e.path else None
            emit(Action("drag", x, y, x2, y2, t=e.t, intent=e.intent, path=path, target=box(e)))
        elif e.type == "scroll":
            x, y = pt(e.x, e.y)
            prev = actions[-1] if actions else None
            if (
                prev is not None
                and prev.kind == "scroll"
                and e.t - ends[-1] <= cfg.scroll_gap
                and math.dist((prev.x, prev.y), (x, y)) <= cfg.drag_distance
            ):
                actions[-1] = replace(prev, dx=prev.dx + (e.dx or 0.0), dy=prev.dy + (e.dy or 0.0))
                ends[-1] = e.t
            else:
                emit(
                    Action(
                        "scroll", x, y, dx=e.dx or 0.0, dy=e.dy or 0.0, t=e.t, intent=e.intent, target=box(e)
                    )
                )
        elif e.type == "key_down":
            key = normalize_key(e.key or "")
            if key in MODIFIERS:
                held.add(key)
            else:
                emit(Action("key", key=_chord(held, key), t=e.t, intent=e.intent))
        elif e.type == "key_up":
            held.discard(normalize_key(e.key or ""))
        elif e.type == "key":
            emit(Action("key", key=normalize_key(e.key or ""), t=e.t, intent=e.intent))
        elif e.type == "type":
            for ch in e.text or "":
                emit(Action("key", key=_TEXT_KEYS.get(ch, ch), t=e.t, intent=e.intent))
        elif e.type == "wait":
            emit(Action("wait", t=e.t, intent=e.intent))

    return _with_waits(actions, ends, cfg.wait_gap)


def _with_waits(actions: list[Action], ends: list[float], wait_gap: float) -> list[Action]:
    """Insert a wait for every idle gap longer than ``wait_gap``; set explicit waits' durations."""
    out: list[Action] = []
    for i, a in enumerate(actions):
        if a.kind == "wait":
            nxt = actions[i + 1].t if i + 1 < len(actions) else a.t
            out.append(replace(a, duration=max(nxt - a.t, 0.0)))
            continue
        if i > 0 and actions[i - 1].kind != "wait" and a.t - ends[i - 1] > wait_gap:
            out.append(Action("wait", t=ends[i - 1], duration=a.t - ends[i - 1], intent=a.intent))
        out.append(a)
    return out


def pair_frames(
    actions: Sequence[Action], frames: Sequence[Frame], intents: Sequence[Intent] = (), source: str = ""
) -> list[Action]:
    """Give each action the last frame captured before it, and its intent segment's label.

    Strictly before: a frame stamped at the action's own time is a recorder's press frame, grabbed
    after the input reached the screen (a key's character, a tab already switched), so it is what
    the *next* action sees. Only an action with no earlier frame takes one at its own time.
    """
    times = [f.t for f in frames]
    out = []
    for a in actions:
        i = bisect.bisect_left(times, a.t) - 1
        if i < 0:
            i = bisect.bisect_right(times, a.t) - 1  # the first frame, at the action's time
        if i < 0:
            where = f"{source}/events.jsonl" if source else "events.jsonl"
            first = f"{times[0]}" if times else "none"
            raise RecordingError(
                Problem(where, None, "t", f"{a.kind} at t={a.t} comes before the first frame (t={first})")
            )
        intent = a.intent
        if intent is None:
            intent = next((s.label for s in intents if s.t0 <= a.t <= s.t1), None)
        out.append(replace(a, frame_index=frames[i].index, intent=intent))
    return out
