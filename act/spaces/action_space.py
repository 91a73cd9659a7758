"""The action space: semantic actions <-> fixed-size arrays, the same for data, policies and envs.

One step has the fields

==========  =========  ======================================================
``kind``    int        id in ``ACTION_KINDS`` (noop, wait, click, ...)
``point``   float (2)  pointer x, y normalised to [0, 1] of the screen
``point2``  float (2)  drag end x, y normalised to [0, 1]
``key``     int        id in the key vocabulary (0 = none)
``scroll``  float (2)  scroll dx, dy in wheel ticks
==========  =========  ======================================================

A chunk is K steps of these plus ``is_pad`` (K,).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from act.recording.schema import ACTION_KINDS, POINTER_KINDS, Action
from act.spaces.vocab import DEFAULT_KEYS, Vocabulary

FIELDS = ("kind", "point", "point2", "key", "scroll")
KIND_ID = {k: i for i, k in enumerate(ACTION_KINDS)}
POINTER_KIND_IDS = tuple(KIND_ID[k] for k in POINTER_KINDS)


class ActionError(ValueError):
    """An action that cannot be encoded or executed: names the field and the value."""


@dataclass
class ActionSpace:
    """Encodes ``Action`` (logical pixels) into normalised arrays and back."""

    keys: Vocabulary = field(default_factory=lambda: Vocabulary(list(DEFAULT_KEYS)))
    kinds: tuple[str, ...] = ACTION_KINDS

    @classmethod
    def from_actions(cls, actions: Sequence[Action]) -> ActionSpace:
        """The default key vocabulary extended by every key token these actions use."""
        used = [a.key for a in actions if a.kind == "key" and a.key]
        return cls(Vocabulary.build(used, base=DEFAULT_KEYS))

    @property
    def num_kinds(self) -> int:
        return len(self.kinds)

    @property
    def num_keys(self) -> int:
        return len(self.keys)

    def encode(self, actions: Sequence[Action], width: float, height: float) -> dict[str, np.ndarray]:
        """Actions -> {kind (N,), point (N, 2), point2 (N, 2), key (N,), scroll (N, 2)}."""
        n = len(actions)
        out = {
            "kind": np.zeros(n, np.int64),
            "point": np.zeros((n, 2), np.float32),
            "point2": np.zeros((n, 2), np.float32),
            "key": np.zeros(n, np.int64),
            "scroll": np.zeros((n, 2), np.float32),
        }
        for i, a in enumerate(actions):
            if a.kind not in KIND_ID:
                raise ActionError(f"action {i}: unknown kind {a.kind!r}; expected one of {ACTION_KINDS}")
            out["kind"][i] = KIND_ID[a.kind]
            out["point"][i] = (a.x / width, a.y / height)
            out["point2"][i] = (a.x2 / width, a.y2 / height)
            if a.kind == "key":
                if a.key not in self.keys:
                    raise ActionError(f"action {i}: key {a.key!r} is not in the key vocabulary")
                out["key"][i] = self.keys.id(a.key)
            out["scroll"][i] = (a.dx, a.dy)
        return out

    def decode(self, arrays: dict[str, Any], width: float, height: float) -> list[Action]:
        """Arrays of N steps (or one step, unbatched) -> Actions in logical pixels."""
        kind = np.atleast_1d(np.asarray(arrays["kind"]))
        n = len(kind)
        point = np.asarray(arrays.get("point", np.zeros((n, 2))), np.float64).reshape(n, 2)
        point2 = np.asarray(arrays.get("point2", np.zeros((n, 2))), np.float64).reshape(n, 2)
        key = np.atleast_1d(np.asarray(arrays.get("key", np.zeros(n, np.int64))))
        scroll = np.asarray(arrays.get("scroll", np.zeros((n, 2))), np.float64).reshape(n, 2)
        actions = []
        for i in range(n):
            k = self.kinds[int(kind[i])]
            actions.append(
                Action(
                    kind=k,
                    x=float(point[i, 0] * width),
                    y=float(point[i, 1] * height),
                    x2=float(point2[i, 0] * width),
                    y2=float(point2[i, 1] * height),
                    key=self.keys.token(int(key[i])) if k == "key" else None,
                    dx=float(scroll[i, 0]),
                    dy=float(scroll[i, 1]),
                )
            )
        return actions

    def check(self, action: dict[str, Any]) -> dict[str, Any]:
        """Validate one env action (normalised arrays); raise ActionError naming the bad field."""
        if not isinstance(action, dict) or "kind" not in action:
            raise ActionError(f"an action is a dict with at least 'kind'; got {action!r}")
        try:
            kind = int(np.asarray(action["kind"]).reshape(()))
        except (TypeError, ValueError) as e:
            raise ActionError(f"field 'kind': not an integer ({action['kind']!r})") from e
        if not 0 <= kind < self.num_kinds:
            raise ActionError(f"field 'kind': {kind} is not a kind id in [0, {self.num_kinds})")
        out: dict[str, Any] = {"kind": kind}
        for name in ("point", "point2", "scroll"):
            value = np.asarray(action.get(name, (0.0, 0.0)), np.float64).reshape(-1)
            if value.shape != (2,):
                raise ActionError(f"field {name!r}: expected 2 numbers, got shape {value.shape}")
            if not all(math.isfinite(v) for v in value):
                raise ActionError(f"field {name!r}: not finite ({value.tolist()})")
            aimed = kind in POINTER_KIND_IDS or (name == "point2" and kind == KIND_ID["drag"])
            if name != "scroll" and aimed and ((value < 0) | (value > 1)).any():
                raise ActionError(f"field {name!r}: {value.tolist()} is outside [0, 1]")
            out[name] = value
        key = int(np.asarray(action.get("key", 0)).reshape(()))
        if not 0 <= key < self.num_keys:
            raise ActionError(f"field 'key': {key} is not a key id in [0, {self.num_keys})")
        out["key"] = key
        return out

    def to_env(self, action: Action, width: float, height: float) -> dict[str, Any]:
        """One Action (logical pixels) -> the env/policy action dict (normalised arrays)."""
        arrays = self.encode([action], width, height)
        return {
            "kind": int(arrays["kind"][0]),
            "point": arrays["point"][0],
            "point2": arrays["point2"][0],
            "key": int(arrays["key"][0]),
            "scroll": arrays["scroll"][0],
        }

    def from_env(self, action: dict[str, Any], width: float, height: float) -> Action:
        """The env/policy action dict -> one Action in logical pixels."""
        return self.decode({k: np.asarray(v)[None] for k, v in self.check(action).items()}, width, height)[0]

    def gym_space(self):
        """The gymnasium ``Dict`` space of one env action (every env of this package uses it)."""
        from gymnasium import spaces

        return spaces.Dict(
            {
                "kind": spaces.Discrete(self.num_kinds),
                "point": spaces.Box(0.0, 1.0, (2,), np.float32),
                "point2": spaces.Box(0.0, 1.0, (2,), np.float32),
                "key": spaces.Discrete(self.num_keys),
                "scroll": spaces.Box(-10.0, 10.0, (2,), np.float32),
            }
        )

    def to_json(self) -> dict[str, Any]:
        return {"kinds": list(self.kinds), "keys": self.keys.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActionSpace:
        return cls(Vocabulary(list(data["keys"])), tuple(data["kinds"]))
