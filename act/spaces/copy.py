"""Typing by copying: which instruction character each typed key copies (the key head's COPY targets).

An expert types what the instruction says ("Log in as bob12 ..." -> b, o, b, 1, 2). ``copy_targets``
finds, for each typed character, the position in the instruction of the character it copies, so a
policy can learn to point at the instruction instead of naming each key it has seen typed, and so
types strings it never saw. Positions are UTF-8 byte offsets: the token positions of the byte-level
instruction encoding (``act.spaces.vocab.encode_bytes``); for ASCII they are character indices.
"""

from __future__ import annotations

from collections.abc import Sequence

NOT_A_COPY = -1


def typed_char(key: str | None) -> str | None:
    """The character a key token types: the token itself when it is one character, " " for
    ``space``; None for every other key (enter, tab, backspace, chords) and for no key."""
    if key == "space":
        return " "
    return key if key is not None and len(key) == 1 else None


def copy_targets(instruction: str, keys: Sequence[str | None]) -> list[int]:
    """Per step, the byte offset in ``instruction`` of the character the step's key copies, or -1.

    ``keys``: the key token of each step of an episode, None where the step presses no key. The
    rules, for each step in order:

    - a character followed at once by ``backspace`` is a typo: not a copy (it keeps its own key);
    - ``backspace`` is a named key; it deletes the last typed character, so the span continues
      from the character before it;
    - a character continues the current span when it is the instruction's next character
      (repeated letters and spaces follow the span, not the first occurrence);
    - otherwise it starts a span at the occurrence whose continuation matches the most of the
      characters typed from here on (typos and their backspaces skipped), the earliest on a tie;
    - a character the instruction lacks is not a copy; any other key, or a step without a key,
      ends the span.
    """
    offsets, n = [0], len(keys)
    for ch in instruction:  # byte offset of every character, and of the end
        offsets.append(offsets[-1] + len(ch.encode("utf-8")))
    chars = [typed_char(k) for k in keys]
    out = [NOT_A_COPY] * n
    typed: list[int] = []  # instruction index (or -1) of each character typed in the current span
    for i, ch in enumerate(chars):
        if keys[i] == "backspace":
            if typed:
                typed.pop()
            continue
        if ch is None:
            typed = []
            continue
        if i + 1 < n and keys[i + 1] == "backspace":  # a typo, deleted next step
            typed.append(NOT_A_COPY)
            continue
        last = typed[-1] if typed else NOT_A_COPY
        if last >= 0 and last + 1 < len(instruction) and instruction[last + 1] == ch:
            pos = last + 1
        else:
            pos = _span_start(instruction, _typed_from(keys, chars, i))
        typed.append(pos)
        out[i] = offsets[pos] if pos >= 0 else NOT_A_COPY
    return out


def next_typed_count(count: int, key: str | None) -> int:
    """How many characters the current span holds after a step pressing ``key`` (None: no key),
    from ``count`` before it: +1 for a character, -1 for ``backspace`` (not below 0), 0 for any
    other key or a step without one. What an agent knows from its own actions, no screen needed."""
    if key == "backspace":
        return max(0, count - 1)
    return count + 1 if typed_char(key) is not None else 0


TYPES, ERASES, RESET = 1, -1, 0  # what a key step does to the typed count (next_typed_count)


def key_effect(key: str) -> int:
    """TYPES for a character, ERASES for ``backspace``, RESET for any other key (enter, tab,
    chords): what pressing ``key`` does to the span being typed."""
    return ERASES if key == "backspace" else TYPES if next_typed_count(0, key) == 1 else RESET


def typed_counts(keys: Sequence[str | None]) -> list[int]:
    """Per step, how many characters the current span holds before the step runs
    (``next_typed_count`` from 0). The COPY pointer adds it to the span's start, so a copied
    character is "the next one of the span"."""
    out, count = [], 0
    for key in keys:
        out.append(count)
        count = next_typed_count(count, key)
    return out


def _typed_from(keys: Sequence[str | None], chars: list[str | None], i: int) -> str:
    """The characters typed from step ``i`` until a key that is neither a character nor backspace."""
    text: list[str] = []
    for key, ch in zip(keys[i:], chars[i:]):
        if key == "backspace":
            if text:
                text.pop()
        elif ch is None:
            break
        else:
            text.append(ch)
    return "".join(text)


def _span_start(instruction: str, typed: str) -> int:
    """The index where ``instruction`` shares the longest prefix with ``typed`` (earliest on a tie),
    -1 when not even the first character occurs (or nothing is left typed: later backspaces erase it)."""
    if not typed:
        return NOT_A_COPY
    best, best_len = NOT_A_COPY, 0
    for p, ch in enumerate(instruction):
        if ch != typed[0]:
            continue
        m = 1
        while m < len(typed) and p + m < len(instruction) and instruction[p + m] == typed[m]:
            m += 1
        if m > best_len:
            best, best_len = p, m
    return best


def copied_char(instruction: str, offset: int) -> str:
    """The character starting at byte ``offset`` of ``instruction`` ("" past its end)."""
    return instruction.encode("utf-8")[offset:].decode("utf-8", "ignore")[:1]
