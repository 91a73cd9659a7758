"""ACTConfig: the single source of truth for an ACT policy (what config.json holds).

The training stage registers this dataclass with Hydra's ConfigStore, so an unknown or misspelt
key is an error there; ``from_dict`` refuses unknown keys the same way when a checkpoint loads.
This module imports neither Hydra nor Lightning.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from act.policy.errors import ConfigError
from act.policy.execution import parse_execution
from act.spaces.action_space import ActionSpace
from act.spaces.vocab import INSTRUCTION_ENCODINGS

# A saved policy directory: the config as JSON beside the weights as safetensors (no pickles).
CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"
BACKBONES = ("convnet", "resnet18")
BACKBONE_NORMS = ("batch", "frozen")
POINTER_HEADS = ("heatmap", "regression")
INSTRUCTION_TOKENS = ("words", "pooled")
READINGS = ("vocab", "rendered")
# What a policy takes from its dataset's info (``ACTConfig.with_dataset_info``); image_size flows back.
DATASET_KEYS = ("action_space", "instruction_vocab", "intent_vocab", "instruction_max_len")


def _default_action_space() -> dict[str, Any]:
    return ActionSpace().to_json()


def _at_least(name: str, value: Any, low: int, note: str = "") -> None:
    """An integer field: refuse a float, a bool or a value below ``low``, naming the field."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}: {value!r} must be an integer >= {low}{note}")


def _finite_at_least(name: str, value: Any, note: str = "") -> None:
    """A weight or coefficient: a finite number >= 0 (NaN and inf would poison every loss)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name}: {value!r} must be a finite number >= 0{note}")


@dataclass
class ACTConfig:
    """Every knob of the policy. Defaults: a small conv net that trains on synthui on 2 CPU cores."""

    # Observation. Images arrive as uint8 (B, 3, H, W) and are normalised inside the model.
    image_size: tuple[int, int] = (120, 160)  # (H, W): synthui screens, rendered natively
    backbone: str = "convnet"  # "convnet" (CPU) | "resnet18"
    convnet_channels: tuple[int, ...] = (32, 64, 128, 128)  # one conv3x3-BN-ReLU stage each
    convnet_strides: tuple[int, ...] = (2, 2, 2, 1)  # product = feature stride (8: 8x8 px cells)
    # resnet18 only: "batch" trains its batch norms; "frozen" fixes them (FrozenBatchNorm2d) as ACT
    # and LeRobot do around ImageNet weights; from scratch a frozen norm is the identity.
    backbone_norm: str = "batch"

    # Transformer.
    dim_model: int = 128
    n_heads: int = 4
    # 2x dim_model: a faster train step and select_action than 512 (docs/experiments.md#policy-timings).
    dim_feedforward: int = 256
    n_encoder_layers: int = 3
    n_decoder_layers: int = 1
    dropout: float = 0.1
    pre_norm: bool = False  # ACT/DETR use post-norm

    # Action chunking.
    chunk_size: int = 10
    # Steps executed open loop per chunk when not ensembling; None = chunk_size (so sweeps compose).
    n_action_steps: int | None = None
    temporal_ensemble_coeff: float | None = None  # m in w_i = exp(-m * i); None = action queue
    # How select_action executes chunks, one setting (act.policy.execution): "replan", "chunk:N",
    # "ensemble:M", "adaptive", "adaptive:T" or "adaptive:T:C". None = the two fields above decide
    # (as before).
    execution: str | None = None

    # CVAE.
    use_vae: bool = True
    latent_dim: int = 32
    n_vae_encoder_layers: int = 2
    kl_weight: float = 10.0

    # Pointer: "heatmap" = cross-entropy over feature cells + L1 offset inside the cell,
    # "regression" = L1 on (x, y) as in ACT. Heatmap, the default, does not average between two buttons.
    pointer_head: str = "heatmap"
    # Where the heatmap pointer points and the reading head reads: 0 = on the encoder's image cells
    # (feature_stride() pixels each); else on a finer backbone stage of this stride (convnet only),
    # each cell adding the encoder memory of the coarse cell it lies in (a top-down merge as in
    # FPN). Small, densely packed labels need it: a 16 px cell can hold parts of four buttons.
    pointer_stride: int = 0

    # Vocabularies and action space, copied from the dataset info (saved with the policy).
    instruction_vocab: list[str] = field(default_factory=list)
    instruction_max_len: int = 24
    # "words": one encoder token per instruction word; "pooled": one token, the mean of the word
    # embeddings (order lost; the encoder then sees as many tokens as LeRobot's ACT with one state).
    instruction_tokens: str = "words"
    # What the instruction tokens are: "words" of instruction_vocab (an unseen word is <unk>), or
    # "chars": its UTF-8 bytes (a fixed vocabulary of 256 + padding, nothing fitted; positions are
    # sines), so any string has a representation. instruction_vocab still names the words the
    # reading and seek heads classify; the seek head copies instruction words only with "words".
    instruction_encoding: str = "words"
    # Typing by copying ("chars" only): the key head gets one more class, COPY, and a pointer over
    # the instruction's byte positions picks the character it types (the batch's ``copy`` targets,
    # weighed by copy_weight). At inference COPY's probability goes to the keys of the characters
    # it points at, so typing a string never seen in training needs no key of it to be learnt.
    key_copy: bool = False
    copy_weight: float = 1.0
    # key_copy: the kind head sees the characters the COPY pointer points at too, as the key head
    # does, so "the user name is typed: click the password field" is as local a decision as "press
    # tab" (the name's end is the next character, not a count read off the screen).
    kind_copy: bool = False
    # The kind of the policy's own previous action (none at an episode's start) joins the latent
    # token, as a robot's joint state does in ACT: what an agent knows without looking. Whether a
    # text field already has focus is a few pixels of caret and border; "I just clicked" is not.
    prev_action: bool = False
    # Where a drag ends given where it starts: the drag-end head's query adds an embedding of the
    # step's start point (the expert's in training, the predicted one at inference). Without it the
    # two heads choose independently and a slider's drag can end on another slider's row
    # (docs/experiments.md#drag-from-start).
    drag_from_start: bool = False
    intent_vocab: list[str] = field(default_factory=list)
    action_space: dict[str, Any] = field(default_factory=_default_action_space)

    # Loss weight of chunk position i is exp(-chunk_decay * i): > 0 stresses the steps nearest in
    # time (the far future of a UI is often not on screen yet). 0 = uniform, as in ACT.
    chunk_decay: float = 0.0
    # Share of the later chunk steps' (1..K-1) loss gradient that reaches what all steps share
    # before the decoder (backbone, encoder, embeddings, reading head); the decoder and the step
    # heads get all of it. 1 = ACT. Below 1, steps 1.. read a copy of the encoder output whose
    # gradient is scaled (same values), so the future steps cannot trade the encoder's view of the
    # screen for theirs; without later_steps_decoder the decoder then runs twice in training
    # (docs/experiments.md#chunk-encoder-grad).
    chunk_encoder_grad: float = 1.0
    # Steps 1.. of the chunk from a decoder (and step queries) of their own, the heads shared; the
    # main decoder decodes step 0 and the intent only, so the two cost about what one decoder of
    # all K + 1 queries does. With chunk_encoder_grad 0 the step executed now is learnt as plain BC
    # learns it, the rest of the chunk beside it on the same encoder output. Nothing to do with
    # chunk_size 1 (BC from an ACT experiment: `policy=bc policy.chunk_size=1`).
    later_steps_decoder: bool = False

    # Loss weights (total = sum of weighted terms + kl_weight * KL).
    kind_weight: float = 1.0
    key_weight: float = 1.0
    point_weight: float = 1.0
    point_offset_weight: float = 1.0
    point2_weight: float = 1.0
    scroll_weight: float = 1.0
    intent_weight: float = 1.0
    # Reading: where a batch carries ``cell_words`` (the instruction-vocabulary word written in each
    # feature cell, as ExpertStream gives), a linear head reads it back from the image memory.
    # Dense supervision that teaches the backbone to read labels, which the pointer then matches
    # against the instruction; 0 turns it off.
    read_weight: float = 5.0
    # Heatmap pointer only: each step also names the word it seeks (a distribution over the
    # instruction vocabulary) and adds log P(cell shows that word) from the reading head to its
    # cell scores, so "click the OK button" works as soon as the policy can read.
    pointer_reads: bool = True
    # Where cells are labelled, the word under the step executed now is the word it seeks:
    # supervise the seek distribution with it (cross-entropy).
    seek_weight: float = 1.0
    # "chars" only: the seek head copies the instruction word that the bytes it attends to belong
    # to (their instruction_vocab id; act.spaces.vocab.byte_words), as it copies word tokens under
    # "words". Off, a byte-level policy's seek can only classify over the vocabulary. Off by
    # default so that policies saved before it plan as they did.
    seek_byte_words: bool = False
    # "chars" only: each byte token also gets a learnt embedding of the instruction_vocab word it
    # belongs to (byte_words: <unk> for a word outside the vocabulary, nothing for spaces and
    # punctuation), so a known word is one vector to match against the reading head's cells, as
    # under "words", while its bytes still spell any string. Off by default (saved policies).
    byte_word_embed: bool = False
    # How the reading pointer finds the word it seeks. "vocab": the reading head names each cell's
    # word from instruction_vocab (a word outside it is <unk>, so an unseen label cannot be found).
    # "rendered": each instruction span (a whitespace word, "memo_26.png" whole) is drawn in the UI
    # font (act.spaces.spans) and every cell is matched against those pictures, or "none"; the seek
    # head picks a span. Any string can then be found, seen in training or not. Needs "chars".
    reading: str = "vocab"

    def __post_init__(self) -> None:
        """Normalise types and refuse bad values; every message starts with the field it names.

        Checked in dependency order (chunk_size before n_action_steps, n_heads before the divisibility
        of dim_model), so the message blames the field that is wrong."""
        self.image_size = tuple(int(v) for v in self.image_size)  # type: ignore[assignment]
        self.convnet_channels = tuple(int(v) for v in self.convnet_channels)
        self.convnet_strides = tuple(int(v) for v in self.convnet_strides)
        self.instruction_vocab = list(self.instruction_vocab)
        self.intent_vocab = list(self.intent_vocab)
        self.action_space = {
            "kinds": list(self.action_space["kinds"]),
            "keys": list(self.action_space["keys"]),
        }
        if len(self.image_size) != 2 or min(self.image_size) < 1:
            raise ValueError(f"image_size: expected (H, W) > 0, got {self.image_size}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone: {self.backbone!r} is not one of {BACKBONES}")
        if self.backbone_norm not in BACKBONE_NORMS:
            raise ValueError(f"backbone_norm: {self.backbone_norm!r} is not one of {BACKBONE_NORMS}")
        if self.backbone_norm == "frozen" and self.backbone != "resnet18":
            raise ValueError(f"backbone_norm: 'frozen' is for backbone='resnet18', not {self.backbone!r}")
        if self.pointer_head not in POINTER_HEADS:
            raise ValueError(f"pointer_head: {self.pointer_head!r} is not one of {POINTER_HEADS}")
        if self.instruction_tokens not in INSTRUCTION_TOKENS:
            raise ValueError(
                f"instruction_tokens: {self.instruction_tokens!r} is not one of {INSTRUCTION_TOKENS}"
            )
        if self.instruction_encoding not in INSTRUCTION_ENCODINGS:
            raise ValueError(
                f"instruction_encoding: {self.instruction_encoding!r} is not one of {INSTRUCTION_ENCODINGS}"
            )
        got = (self.instruction_encoding, self.instruction_tokens)
        # each works on the instruction's bytes, one token each
        for name in ("key_copy", "seek_byte_words", "byte_word_embed"):
            if getattr(self, name) and got != ("chars", "words"):
                raise ValueError(
                    f"{name}: works on instruction bytes, so it needs instruction_encoding='chars' and "
                    f"instruction_tokens='words' (got {got[0]!r}, {got[1]!r})"
                )
        if self.kind_copy and not self.key_copy:
            raise ValueError(
                "kind_copy: the kind head sees what the COPY pointer points at, so it needs key_copy"
            )
        if self.reading not in READINGS:
            raise ValueError(f"reading: {self.reading!r} is not one of {READINGS}")
        if self.reading == "rendered" and not (
            got == ("chars", "words") and self.pointer_reads and self.pointer_head == "heatmap"
        ):
            raise ValueError(
                "reading: 'rendered' matches the instruction's spans against heatmap cells, so it needs "
                "instruction_encoding='chars', instruction_tokens='words', pointer_reads and "
                f"pointer_head='heatmap' (got {got[0]!r}, {got[1]!r}, pointer_reads={self.pointer_reads}, "
                f"{self.pointer_head!r})"
            )
        if len(self.convnet_channels) != len(self.convnet_strides) or not self.convnet_channels:
            raise ValueError("convnet_channels and convnet_strides: need the same, non-zero length")
        for name in ("convnet_channels", "convnet_strides"):
            if min(getattr(self, name)) < 1:
                raise ValueError(f"{name}: {getattr(self, name)} must all be >= 1")
        for name in (
            "dim_model",
            "n_heads",
            "dim_feedforward",
            "n_encoder_layers",
            "n_decoder_layers",
            "latent_dim",
            "instruction_max_len",
            "chunk_size",
        ):
            _at_least(name, getattr(self, name), 1)
        if self.use_vae:
            _at_least("n_vae_encoder_layers", self.n_vae_encoder_layers, 1, " when use_vae")
        _at_least("pointer_stride", self.pointer_stride, 0)
        if self.pointer_stride:
            stages = self._stage_strides()
            if self.backbone != "convnet" or self.pointer_stride not in stages[:-1]:
                raise ValueError(
                    f"pointer_stride: {self.pointer_stride} must be the stride of a convnet stage before the "
                    f"last ({stages[:-1]} for convnet_strides={self.convnet_strides}), or 0"
                )
            if self.pointer_head != "heatmap":
                raise ValueError(
                    "pointer_stride: needs pointer_head='heatmap' (a regression head has no grid)"
                )
        if self.dim_model % self.n_heads:
            raise ValueError(f"n_heads: {self.n_heads} does not divide dim_model {self.dim_model}")
        if self.n_action_steps is None:  # so a sweep over chunk_size alone is valid
            self.n_action_steps = self.chunk_size
        if not 1 <= self.n_action_steps <= self.chunk_size:
            raise ValueError(
                f"n_action_steps: {self.n_action_steps} must be in [1, chunk_size={self.chunk_size}]"
            )
        if not (isinstance(self.dropout, numbers.Real) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout: {self.dropout!r} must be in [0, 1)")
        if not 0 <= self.chunk_encoder_grad <= 1:
            raise ValueError(f"chunk_encoder_grad: {self.chunk_encoder_grad!r} must be in [0, 1]")
        if self.temporal_ensemble_coeff is not None:
            _finite_at_least("temporal_ensemble_coeff", self.temporal_ensemble_coeff, " or None")
        if self.execution is not None:
            parse_execution(self.execution, self.chunk_size)  # ValueError naming execution
            if self.temporal_ensemble_coeff is not None:
                raise ValueError(
                    f"execution: {self.execution!r} and temporal_ensemble_coeff="
                    f"{self.temporal_ensemble_coeff} both say how chunks execute; set one "
                    f"(execution='ensemble:{self.temporal_ensemble_coeff:g}' ensembles)"
                )
        for name in (
            "kl_weight",
            "chunk_decay",
            "kind_weight",
            "key_weight",
            "point_weight",
            "point_offset_weight",
            "point2_weight",
            "scroll_weight",
            "intent_weight",
            "read_weight",
            "seek_weight",
            "copy_weight",
        ):
            _finite_at_least(name, getattr(self, name))

    def _strides(self) -> tuple[int, ...]:
        return self.convnet_strides if self.backbone == "convnet" else (2, 2, 2, 2, 2)

    def feature_stride(self) -> int:
        """Pixels per feature cell side: cell (i, j) covers [i * s, (i + 1) * s) x [j * s, (j + 1) * s)."""
        return math.prod(self._strides())

    def feature_grid(self) -> tuple[int, int]:
        """(h, w) cells of the backbone's feature map: the encoder's image tokens."""
        return self._grid_after(self._strides())

    def _grid_after(self, strides: tuple[int, ...]) -> tuple[int, int]:
        h, w = self.image_size
        for s in strides:  # every strided layer pads so that it computes ceil(n / s)
            h, w = -(-h // s), -(-w // s)
        return h, w

    def pointer_level(self) -> int | None:
        """Index of the convnet stage the pointer reads (``pointer_stride``), None = the last."""
        return self._stage_strides().index(self.pointer_stride) if self.pointer_stride else None

    def _stage_strides(self) -> list[int]:
        """The convnet's cumulative stride after each stage."""
        return [math.prod(self.convnet_strides[: i + 1]) for i in range(len(self.convnet_strides))]

    def pointer_cells(self) -> tuple[int, int, int]:
        """(rows, cols, stride) of the grid the heatmap pointer points on and the reading head reads."""
        if not self.pointer_stride:
            return (*self.feature_grid(), self.feature_stride())
        strides = self.convnet_strides[: self.pointer_level() + 1]  # type: ignore[operator]
        return (*self._grid_after(strides), self.pointer_stride)

    def read_target(self) -> str:
        """The batch key the reading loss learns from: ``cell_spans`` (rendered) or ``cell_words``."""
        return "cell_spans" if self.reading == "rendered" else "cell_words"

    @classmethod
    def lerobot_equivalent(cls, **overrides: Any) -> ACTConfig:
        """The shape of LeRobot's default ACT (ResNet-18 with frozen batch norm, dim 512, 96x96, chunk 20),
        for comparisons."""
        base: dict[str, Any] = dict(
            image_size=(96, 96),
            backbone="resnet18",
            backbone_norm="frozen",
            dim_model=512,
            n_heads=8,
            dim_feedforward=3200,
            n_encoder_layers=4,
            n_decoder_layers=1,
            n_vae_encoder_layers=4,
            latent_dim=32,
            dropout=0.1,
            chunk_size=20,
            n_action_steps=20,
            kl_weight=10.0,
            pointer_head="regression",
            pre_norm=False,
        )
        return cls(**{**base, **overrides})

    def with_dataset_info(self, info: dict[str, Any]) -> ACTConfig:
        """A copy that takes the vocabularies, action space and instruction length from a dataset's info.

        Each value both know flows one way. ``image_size``: policy -> dataset (the dataset is built at
        the policy's size), so a dataset of another size is an error. ``instruction_vocab``,
        ``intent_vocab``, ``action_space``, ``instruction_max_len``: dataset -> policy (what the dataset
        was tokenised and built with); a policy value set away from ACTConfig's default that disagrees
        is an error naming ``policy.<key>``, never silently replaced.
        """
        if "image_size" in info and tuple(int(v) for v in info["image_size"]) != tuple(self.image_size):
            raise ValueError(
                f"policy.image_size: {list(self.image_size)}, but the dataset was built at "
                f"{list(info['image_size'])} (datasets are built at the policy's image size): "
                "use a dataset built at this size"
            )
        taken = {k: info[k] for k in DATASET_KEYS if k in info}
        merged = dataclasses.replace(self, **taken)  # __post_init__ normalises the dataset's values
        default = ACTConfig()  # a value still at its default is unset: the dataset's replaces it
        for key in taken:
            ours, theirs = getattr(self, key), getattr(merged, key)
            if ours != theirs and ours != getattr(default, key):
                raise ValueError(
                    f"policy.{key}: {ours!r} disagrees with the dataset's {theirs!r}; the dataset is the "
                    f"source of {key} (build the dataset with the value you want) so leave it unset"
                )
        return merged

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> ACTConfig:
        """Build from a dict; ``ConfigError`` naming ``source`` and the field for an unknown key (a
        misspelling must not pass silently), a value of the wrong JSON type, or one out of range."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected an object of ACTConfig fields, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{source}: unknown ACTConfig key(s) {unknown}; known keys: {sorted(names)}")
        for f in dataclasses.fields(cls):
            if f.name in data:
                why = _type_problem(str(f.type), data[f.name])
                if why:
                    raise ConfigError(f"{source}: {f.name}: {why}, got {_short(data[f.name])}")
        try:
            return cls(**data)
        except (TypeError, ValueError, OverflowError, KeyError) as e:  # __post_init__'s range checks
            raise ConfigError(f"{source}: {e}") from e

    @classmethod
    def from_json(cls, path: str | Path) -> ACTConfig:
        """Read a config.json; ``ConfigError`` naming the file (and line) when it is not a JSON object
        of valid ACTConfig fields."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"{path}: cannot be read ({e.strerror or e})") from e
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise ConfigError(f"{path}:{line}: not valid UTF-8 (byte 0x{data[e.start]:02x})") from e
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno})") from e
        except RecursionError as e:
            raise ConfigError(f"{path}: not valid JSON (nested too deeply to parse)") from e
        except ValueError as e:  # e.g. an integer literal beyond Python's digit limit
            raise ConfigError(f"{path}: not valid JSON ({e})") from e
        return cls.from_dict(value, source=str(path))


def _short(v: Any) -> str:
    """repr cut to 60 characters (a bad value can be large)."""
    try:
        r = repr(v)
    except (ValueError, RecursionError):  # an int beyond the digit limit has no repr
        r = f"<{type(v).__name__}>"
    return r if len(r) <= 60 else r[:57] + "..."


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _type_problem(annotation: str, v: Any) -> str | None:
    """Why ``v`` (as JSON gives it) does not fit a field annotated ``annotation``; None when it does.

    Checked before ``__post_init__`` converts values, so "abc" for a vocabulary is not split into
    letters and 2.5 for a size is not truncated to 2."""
    if annotation.endswith(" | None"):
        if v is None:
            return None
        annotation = annotation.removesuffix(" | None")
    if annotation == "int":
        return None if _is_int(v) else "must be an integer"
    if annotation == "float":
        return None if _is_int(v) or isinstance(v, float) else "must be a number"
    if annotation == "bool":
        return None if isinstance(v, bool) else "must be true or false"
    if annotation == "str":
        return None if isinstance(v, str) else "must be a string"
    if annotation.startswith("tuple[int"):
        if not (isinstance(v, (list, tuple)) and all(_is_int(x) for x in v)):
            return "must be a list of integers"
        if annotation == "tuple[int, int]" and len(v) != 2:
            return "must be a list of two integers"
        return None
    if annotation == "list[str]":
        ok = isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)
        return None if ok else "must be a list of strings"
    if annotation == "dict[str, Any]":  # action_space
        ok = isinstance(v, dict) and all(
            isinstance(v.get(k), list) and all(isinstance(x, str) for x in v[k]) for k in ("kinds", "keys")
        )
        return None if ok else 'must be {"kinds": [strings], "keys": [strings]}'
    return None
