"""Key names for the recorder: input-library keys -> format-v1 key tokens, the stop hotkey, redaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from act.recording.events import MODIFIERS, normalize_key

REDACTED = "*"  # what --redact-typing writes for every typed character


def key_token(key: Any) -> str:
    """A pynput key (``Key.enter``, ``KeyCode(char='a')``) or a string as one normalised token.

    Named keys keep their name (``ctrl_l`` -> ``ctrl``, ``space`` -> ``' '``); character keys give the
    character; a key with neither (an unmapped keysym) gives ``vk<code>``.
    """
    if isinstance(key, str):
        return normalize_key(key)
    name = getattr(key, "name", None)
    if isinstance(name, str):
        return normalize_key(name)
    char = getattr(key, "char", None)
    if isinstance(char, str) and char:
        return normalize_key(char)
    return f"vk{getattr(key, 'vk', None)}"


def redact(token: str, held: set[str]) -> str:
    """``REDACTED`` for a typed character (printable, no ctrl/alt/cmd held); other keys unchanged.

    Named keys (enter, backspace, arrows) and shortcuts such as ctrl+c say how the user edits, not
    what they type, so they are kept.
    """
    if len(token) == 1 and token.isprintable() and not held & {"ctrl", "alt", "cmd"}:
        return REDACTED
    return token


@dataclass(frozen=True)
class Hotkey:
    """A key chord such as ``ctrl+shift+q`` or ``f12``: exact modifiers plus one key."""

    modifiers: frozenset[str]
    key: str

    @classmethod
    def parse(cls, text: str) -> Hotkey:
        """Parse ``ctrl+shift+q`` / ``F12`` / ``cmd+alt+s``; raise ValueError naming the problem."""
        parts = [p.strip() for p in text.split("+")]
        if not text.strip() or any(not p for p in parts):
            raise ValueError(f"stop key {text!r}: expected keys joined by '+', e.g. ctrl+shift+q or f12")
        tokens = [normalize_key(p).lower() if len(p) > 1 else p.lower() for p in parts]
        *mods, key = tokens
        bad = [m for m in mods if m not in MODIFIERS]
        if bad:
            raise ValueError(
                f"stop key {text!r}: {bad[0]!r} is not a modifier (one of {', '.join(MODIFIERS)})"
            )
        if key in MODIFIERS:
            raise ValueError(f"stop key {text!r}: the last key must not be a modifier")
        return cls(frozenset(mods), key)

    def matches(self, token: str, held: set[str]) -> bool:
        """Whether pressing ``token`` while ``held`` modifiers are down completes this chord."""
        return token.lower() == self.key and set(held) == set(self.modifiers)

    def __str__(self) -> str:
        return "+".join([m for m in MODIFIERS if m in self.modifiers] + [self.key])
