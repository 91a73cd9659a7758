"""How ``ACTPolicy.select_action`` executes chunks: one setting, ``ACTConfig.execution``, four strategies.

- ``replan``: a model call every step, its first planned step executed (``chunk:1``).
- ``chunk:N``: a model call every N steps, its first N planned steps executed open loop (ACT's queue).
- ``ensemble:M``: a model call every step; the step executed averages every chunk that planned it,
  weights exp(-M * i), i = 0 the oldest (ACT's temporal ensembling, ``act.policy.ensemble``):
  points and scrolls directly, kinds and keys as probabilities, then the argmax.
- ``adaptive``, ``adaptive:T`` or ``adaptive:T:C``: a model call, then its steps executed while they
  stay within one intent and the screen is still the one the chunk was planned on, up to its first
  pointer action or named key (with C > 0, a pointer action that changed between 0 and C of the
  screen's pixels does not end it); then a new call.

The adaptive rule. The policy names one intent per chunk, so the steps' kinds stand in for a
per-step intent: the chunk's first intent ends where its steps switch between pointer actions
(click, drag, scroll, ...) and keys, either way (a key run after a click starts a new intent, and
so does a click after it), between runs of characters, of backspaces and of named keys (how much
a field still holds is on the screen, not in the plan; enter after a typed query is planned from
the screen that shows the query), or where a character copied from the
instruction does not continue the span the run was copying (the user name ends, the password
begins: another field); noop and wait belong to either. Typing a
word is one run of characters: one call. A pointer action (click, drag, scroll, ...) always ends
the chunk, and so does a named key (enter, tab, a chord): what it does to the screen cannot be
known from the screen before it (a menu opens, a tick mark appears beside the label clicked, the
focus moves to a field that may hold text, or nothing yet, because the UI is late or the click
missed), so the next step is planned from the screen after it. Other steps (characters,
backspaces, waits) go on while the screen stays within T (``ADAPTIVE_THRESHOLD`` by default) of
the one the chunk was planned on, as mean absolute pixel difference over the whole frame in
[0, 1]: the characters a key run types change the frame by less than a new page or a late screen
does (docs/experiments.md#adaptive).

Local clicks (``adaptive:T:C``, C > 0). What a click did is on the screen after it: where it changed
some pixels but at most a share C of them (a tick mark appeared; a 7 x 6 px box is 0.2% of synthui's
120 x 160 frame, against 1-2% for a field taking the focus and 10-22% for a tab or a menu), the
screen the chunk was planned on still stands and the chunk goes on to its next planned pointer
step (ticking three boxes: one call). A click that changed nothing (it missed, or the UI is late)
or more than C ends the chunk as before. C = 0 (the default) keeps every pointer action ending it:
on the demo's policies the plan's later clicks, made before the first tick, were too often wrong
(docs/experiments.md#local-clicks).

Every executor counts its model calls (``calls``): what ``ACTPolicy.policy_calls`` reports.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from act.policy.ensemble import TemporalEnsembler
from act.spaces.copy import RESET

MODES = ("replan", "chunk", "ensemble", "adaptive")
SYNTAX = "replan, chunk:N, ensemble:M, adaptive, adaptive:T or adaptive:T:C"
# adaptive's default T: above what typing a word changes on a frame, below a new page or a late
# screen arriving (docs/evaluating.md, "Executing chunks").
ADAPTIVE_THRESHOLD = 0.02
# How far the next copied byte may lie past the last one and still continue its span: 1, plus one
# for each character the key head typed itself in between (each advances the COPY pointer too).
MAX_COPY_GAP = 4

Chunk = dict[str, torch.Tensor]  # field -> (1, K, ...): one plan, as predict_chunk_batch returns it
Plan = Callable[[], Chunk]  # plans from the current observation: one model call
ToAction = Callable[[dict[str, np.ndarray]], dict[str, Any]]  # one planned step -> an env action


@dataclass(frozen=True)
class Execution:
    """A parsed strategy: ``mode`` and its parameters (``steps`` for chunk, ``coeff`` for ensemble,
    ``threshold`` and ``click_change`` for adaptive)."""

    mode: str
    steps: int = 1
    coeff: float = 0.0
    threshold: float = ADAPTIVE_THRESHOLD
    click_change: float = 0.0  # adaptive: the largest share of pixels a click may change and the chunk go on

    def __str__(self) -> str:
        if self.mode == "chunk":
            return f"chunk:{self.steps}"
        if self.mode == "ensemble":
            return f"ensemble:{self.coeff:g}"
        if self.mode == "adaptive" and self.click_change > 0:
            return f"adaptive:{self.threshold:g}:{self.click_change:g}"
        if self.mode == "adaptive" and self.threshold != ADAPTIVE_THRESHOLD:
            return f"adaptive:{self.threshold:g}"
        return self.mode


def parse_execution(text: Any, chunk_size: int | None = None, name: str = "execution") -> Execution:
    """``"replan"``, ``"chunk:N"`` (1 <= N <= chunk_size), ``"ensemble:M"`` (M >= 0), ``"adaptive"``,
    ``"adaptive:T"`` (T >= 0) or ``"adaptive:T:C"`` (0 <= C <= 1) -> an Execution; ValueError naming
    ``name`` otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"{name}: {text!r} must be a string, one of {SYNTAX}")
    mode, sep, arg = text.strip().partition(":")
    bad = f"{name}: {text!r} is not one of {SYNTAX}"
    if mode not in MODES or (mode == "replan" and sep) or (mode in ("chunk", "ensemble") and not arg):
        raise ValueError(bad)
    if sep and not arg:
        raise ValueError(bad)
    if mode == "replan":
        return Execution("replan")
    if mode == "chunk":
        try:
            steps = int(arg)
        except ValueError:
            raise ValueError(f"{name}: {text!r}: N in chunk:N must be an integer") from None
        high = chunk_size if chunk_size is not None else steps
        if not 1 <= steps <= high:
            raise ValueError(f"{name}: {text!r}: N must be in [1, chunk_size={chunk_size}]")
        return Execution("chunk", steps=steps)
    arg, sep, click = arg.partition(":")
    if sep and (mode != "adaptive" or not click):
        raise ValueError(bad)
    value = _number(arg, ADAPTIVE_THRESHOLD, f"{name}: {text!r}: the value after ':'")
    if mode == "ensemble":
        return Execution("ensemble", coeff=value)
    click_change = _number(click, 0.0, f"{name}: {text!r}: C in adaptive:T:C")
    if click_change > 1:
        raise ValueError(f"{name}: {text!r}: C in adaptive:T:C is a share of the pixels, in [0, 1]")
    return Execution("adaptive", threshold=value, click_change=click_change)


def _number(text: str, default: float, what: str) -> float:
    """``text`` as a finite number >= 0, ``default`` when empty; ValueError starting with ``what``."""
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0")
    return value


def from_config(config: Any) -> Execution:
    """The strategy an ACTConfig sets: ``execution`` when set, else from the older fields
    (``ensemble:temporal_ensemble_coeff`` when that is set, else ``chunk:n_action_steps``)."""
    if config.execution is not None:
        return parse_execution(config.execution, config.chunk_size)
    if config.temporal_ensemble_coeff is not None:
        return Execution("ensemble", coeff=float(config.temporal_ensemble_coeff))
    return Execution("chunk", steps=int(config.n_action_steps or config.chunk_size))


class Executor:
    """One episode's execution: ``act(obs, plan, to_action)`` returns one env action, calling ``plan``
    (the model) when the strategy needs a new chunk. ``calls`` counts those calls."""

    def __init__(self) -> None:
        self.calls = 0

    def _plan(self, plan: Plan) -> Chunk:
        self.calls += 1
        return plan()

    def act(self, obs: dict[str, Any], plan: Plan, to_action: ToAction) -> dict[str, Any]:
        raise NotImplementedError


class QueueExecutor(Executor):
    """replan and chunk:N: a call whenever the queue of planned steps is empty, then N steps from it."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps
        self.queue: deque[dict[str, Any]] = deque()

    def act(self, obs: dict[str, Any], plan: Plan, to_action: ToAction) -> dict[str, Any]:
        if not self.queue:
            chunk = {k: v[0, : self.steps].cpu().numpy() for k, v in self._plan(plan).items()}
            self.queue.extend(
                to_action({k: v[i] for k, v in chunk.items()}) for i in range(len(chunk["point"]))
            )
        return self.queue.popleft()


class EnsembleExecutor(Executor):
    """ensemble:M: a call every step, the steps planned for now averaged (``TemporalEnsembler``)."""

    def __init__(self, coeff: float, chunk_size: int):
        super().__init__()
        self.ensembler = TemporalEnsembler(coeff, chunk_size)

    def act(self, obs: dict[str, Any], plan: Plan, to_action: ToAction) -> dict[str, Any]:
        chunk = {k: v for k, v in self._plan(plan).items() if k != "copy_probs"}  # adaptive's alone
        step = self.ensembler.update(chunk)  # (1, ...)
        return to_action({k: v[0].cpu().numpy() for k, v in step.items()})


def intent_end(
    kinds: Sequence[int],
    pointer: Sequence[bool],
    key_kind: int,
    keys: Sequence[int] | None = None,
    key_effects: Sequence[int] | None = None,
    copied: Sequence[int | None] | None = None,
) -> int:
    """How many leading steps of a chunk's kinds form its first intent: up to the first switch
    between pointer steps and key steps (noop, wait and other kinds belong to either). With the
    steps' ``keys`` and each key id's effect (``act.spaces.copy.key_effect``), a run of characters,
    a run of backspaces and a run of named keys (enter, tab, chords) are three intents: how much a
    field holds is on the screen, and "type the query, then submit" plans the submit from the screen
    that shows the query (one call more than running on into it). With
    ``copied`` (per step, the instruction byte a COPY step types, None for other steps), a copy
    that does not continue the previous one starts another span, another intent (the user name,
    then the password)."""
    group, last = None, None
    for i, kind in enumerate(kinds):
        g = "key" if kind == key_kind else "pointer" if pointer[kind] else None
        if g == "key" and keys is not None and key_effects is not None:
            g = f"key{key_effects[keys[i]]}"
        if g is not None and group is not None and g != group:
            return i
        byte = copied[i] if copied is not None else None
        if byte is not None and last is not None and not 0 < byte - last <= MAX_COPY_GAP:
            return i
        group, last = group or g, byte if byte is not None else last
    return len(kinds)


def changed_share(before: np.ndarray, after: np.ndarray) -> float:
    """The share in [0, 1] of pixels that differ in any channel between two (H, W, C) uint8 screens;
    1 when their shapes differ. Unlike ``screen_change``, a tick mark counts the same in any theme."""
    if before.shape != after.shape:
        return 1.0
    return float((before != after).any(-1).mean())


def screen_change(reference: np.ndarray, frame: np.ndarray) -> float:
    """The mean absolute difference in [0, 1] between two (H, W, C) uint8 screens; 1 when their
    shapes differ."""
    if reference.shape != frame.shape:
        return 1.0
    return float(np.abs(reference.astype(np.int16) - frame.astype(np.int16)).mean() / 255.0)


class AdaptiveExecutor(Executor):
    """adaptive: a chunk's steps while they stay within its first intent and the screen stays within
    ``threshold`` of the one it was planned on, past a pointer action only where it changed between
    0 and ``click_change`` of the pixels (see the module docstring); then a new call."""

    def __init__(
        self,
        threshold: float,
        pointer: Sequence[bool],
        key_kind: int,
        key_effects: Sequence[int] | None = None,
        click_change: float = 0.0,
    ):
        super().__init__()
        self.threshold, self.pointer, self.key_kind = threshold, pointer, key_kind
        self.key_effects = key_effects  # per key id: TYPES, ERASES or RESET (act.spaces.copy)
        self.click_change = click_change
        self.chunk: dict[str, np.ndarray] | None = None
        self.reference = np.zeros((0, 0, 3), np.uint8)  # the screen the chunk was planned on
        self.clicked: np.ndarray | None = None  # the screen before a pointer action that may go on
        self.next = self.end = 0  # the next step to execute; the end of the chunk's first intent

    def _keeps_going(self, frame: np.ndarray) -> bool:
        if self.chunk is None or self.next >= self.end:
            return False
        if self.clicked is not None:  # what the pointer action did decides; then compare with now
            if not 0 < changed_share(self.clicked, frame) <= self.click_change:
                return False
            self.reference = frame.copy()  # later steps compare with the screen after the click
            return True
        return screen_change(self.reference, frame) <= self.threshold

    def act(self, obs: dict[str, Any], plan: Plan, to_action: ToAction) -> dict[str, Any]:
        frame = np.asarray(obs["screen"])
        going, self.clicked = self._keeps_going(frame), None
        if not going:
            self.chunk = {k: v[0].cpu().numpy() for k, v in self._plan(plan).items()}
            kinds = [int(k) for k in self.chunk["kind_probs"].argmax(-1)]
            keys = [int(k) for k in self.chunk["key_probs"].argmax(-1)]
            self.end = intent_end(
                kinds, self.pointer, self.key_kind, keys, self.key_effects, self._copied(kinds)
            )
            self.reference, self.next = frame.copy(), 0
        action = to_action({k: v[self.next] for k, v in self.chunk.items()})  # type: ignore[union-attr]
        self.next += 1
        if self.click_change > 0 and self.pointer[int(action["kind"])]:
            self.clicked = frame.copy()  # the next screen says whether the chunk goes on
        elif self._ends_chunk(action):
            self.end = self.next
        return action

    def _copied(self, kinds: list[int]) -> list[int | None] | None:
        """key_copy: per planned key step, the instruction byte its COPY pointer types where COPY has
        most of the step's key probability, else None (and None for other kinds); None without
        key_copy."""
        copy = self.chunk.get("copy_probs") if self.chunk is not None else None  # (K, L')
        if copy is None:
            return None
        share = copy.sum(-1)  # (K,) P(COPY)
        return [
            int(copy[k].argmax()) if kinds[k] == self.key_kind and share[k] > 0.5 else None
            for k in range(len(copy))
        ]

    def _ends_chunk(self, action: dict[str, Any]) -> bool:
        """A pointer action, or a key that is neither a character nor backspace (enter, tab, a
        chord): what it does to the screen is not on the screen before it."""
        kind = int(action["kind"])
        if self.pointer[kind]:
            return True
        named = self.key_effects is not None and self.key_effects[int(action["key"])] == RESET
        return kind == self.key_kind and named


def build_executor(
    execution: Execution,
    chunk_size: int,
    pointer: Sequence[bool],
    key_kind: int,
    key_effects: Sequence[int] | None = None,
) -> Executor:
    """A fresh executor for one episode. ``pointer``: per action kind, whether it acts at a point;
    ``key_effects``: per key id, what it does to a field (``act.spaces.copy.key_effect``)."""
    if execution.mode == "ensemble":
        return EnsembleExecutor(execution.coeff, chunk_size)
    if execution.mode == "adaptive":
        return AdaptiveExecutor(execution.threshold, pointer, key_kind, key_effects, execution.click_change)
    return QueueExecutor(1 if execution.mode == "replan" else execution.steps)
