"""Recordings -> a Hugging Face ``datasets`` dataset on disk, one row per step, frames pre-decoded.

The dataset directory holds the Arrow files written by ``Dataset.save_to_disk`` (memory-mapped on
load, so a dataset larger than RAM trains) and ``act_dataset.json``: the ``DatasetInfo`` with the
vocabularies, image size and source statistics that policies copy into their config.

Safety: a dataset is written to a hidden sibling directory and renamed into place, so a failed or
killed build never leaves a half dataset where a reader looks. ``act_dataset.json`` records the
fingerprint of the inputs (the recordings' content and every build parameter): building again into a
directory that holds the dataset of the same inputs reuses it, one of other inputs is refused unless
``overwrite=True``, and a directory this library did not write is never replaced or deleted.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import socket
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from act.recording import RecordingError, find_episodes, read_episode
from act.recording.events import MergeConfig
from act.recording.io import ELEMENTS
from act.spaces.action_space import ActionSpace
from act.spaces.image import resize_frame
from act.spaces.vocab import Vocabulary, tokenize

INFO_FILE = "act_dataset.json"
# What Dataset.save_to_disk writes next to INFO_FILE: all ``overwrite`` may ever delete.
_DATASET_FILES = ("dataset_info.json", "state.json")


class DatasetError(ValueError):
    """A dataset directory cannot be used or written as asked; the message names it and what to do."""


@dataclass
class DatasetInfo:
    """What a policy and a reader need to know about a built dataset."""

    image_size: tuple[int, int]
    action_space: dict[str, Any]
    instruction_vocab: list[str]
    intent_vocab: list[str]
    instruction_max_len: int
    num_episodes: int = 0
    num_steps: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    screens: dict[str, int] = field(default_factory=dict)
    intents: dict[str, int] = field(default_factory=dict)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    format_version: int = 1
    # What the dataset was built from (see ``dataset_inputs``) and its digest, checked on reuse;
    # empty in datasets written before fingerprints existed.
    inputs: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    recordings: str = ""  # the recordings' common directory at build time (for messages only)
    # The dataset's directory: set by build_dataset and load, never saved (a dataset may move).
    path: Path | None = field(default=None, compare=False, repr=False)

    def save(self, out_dir: Path) -> None:
        data = asdict(self)
        del data["path"]
        (Path(out_dir) / INFO_FILE).write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> DatasetInfo:
        file = Path(path) / INFO_FILE
        if not file.is_file():
            raise FileNotFoundError(
                f"{file} is missing: is {path} a dataset built by act.data.build_dataset?"
            )
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            data.pop("path", None)
            data["image_size"] = tuple(data["image_size"])
            return cls(**data, path=Path(path))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
            raise DatasetError(
                f"{file}: not a dataset description this library wrote ({type(e).__name__}: {e}); "
                "rebuild the dataset into a new directory"
            ) from None

    @property
    def space(self) -> ActionSpace:
        return ActionSpace.from_json(self.action_space)


def dataset_path(dataset: str | Path | DatasetInfo) -> Path:
    """The directory of a dataset given as a path or as the ``DatasetInfo`` build_dataset / load returned."""
    if isinstance(dataset, DatasetInfo):
        if dataset.path is None:
            raise DatasetError(
                "this DatasetInfo does not know its directory: pass the one build_dataset or "
                "DatasetInfo.load returned, or the dataset's path"
            )
        return Path(dataset.path)
    return Path(dataset)


def _episode_files(episode: Path) -> list[list[Any]]:
    """[relative path, content digest] of an episode's json/jsonl files, [path, size, mtime] of the rest."""
    rows = []
    for dirpath, dirnames, filenames in os.walk(episode):
        dirnames.sort()
        for name in sorted(filenames):
            file = Path(dirpath) / name
            rel = file.relative_to(episode).as_posix()
            if file.suffix in (".json", ".jsonl"):  # small, and what defines the actions: hash them
                rows.append([rel, hashlib.sha256(file.read_bytes()).hexdigest()])
            else:  # frames: too many bytes to hash; size and time change when a file is rewritten
                st = file.stat()
                rows.append([rel, st.st_size, st.st_mtime_ns])
    return rows


def recordings_root(episodes: list[Path]) -> Path:
    """The deepest directory holding every episode (the episode itself when there is one)."""
    return Path(os.path.commonpath([str(Path(p).resolve()) for p in episodes]))


def recordings_fingerprint(episodes: list[Path]) -> str:
    """A digest of the episodes' paths (relative to their common root) and files (see _episode_files).

    Two folders of the same content and file times give the same digest wherever they are (cp -a
    and rsync -a keep the times; cp -r does not); adding, removing or rewriting an episode changes it.
    """
    root = recordings_root(episodes)
    h = hashlib.sha256()
    for ep in episodes:
        rel = Path(ep).resolve().relative_to(root).as_posix()
        h.update(json.dumps([rel, _episode_files(Path(ep))]).encode() + b"\n")
    return h.hexdigest()


def dataset_inputs(
    episodes: list[Path], image_size: tuple[int, int], instruction_max_len: int, merge: MergeConfig
) -> dict[str, Any]:
    """Everything a build's bytes depend on (``num_proc`` does not change them): the fingerprint's input.
    ``elements`` (only where some episode has element snapshots, so other datasets keep their
    fingerprint): the dataset gets the per-step snapshot column, and one built before it existed
    is not reused."""
    inputs = {
        "recordings": recordings_fingerprint(episodes),
        "num_episodes": len(episodes),
        "image_size": [int(image_size[0]), int(image_size[1])],
        "instruction_max_len": int(instruction_max_len),
        "merge": asdict(merge),
        "format_version": DatasetInfo.format_version,
    }
    if any(_has_elements(e) for e in episodes):
        inputs["elements"] = True
    if any(_recorded_by_act_record(e) for e in episodes):
        # their press frames pair with the next action since 2026-12-06 (act.recording.pair_frames):
        # a dataset built from them before then is not reused
        inputs["pairing"] = "frame-before-input"
    return inputs


def _recorded_by_act_record(episode: Path) -> bool:
    try:
        meta = json.loads((Path(episode) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False  # a broken meta.json: the reader reports it, naming the file
    return isinstance(meta, dict) and isinstance(meta.get("extra"), dict) and "recorder" in meta["extra"]


def _has_elements(episode: Path) -> bool:
    file = Path(episode) / ELEMENTS
    return file.is_file() and file.stat().st_size > 0


def _fingerprint(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _differences(info: DatasetInfo, inputs: dict[str, Any], root: Path) -> str:
    """What differs between a built dataset's inputs and the wanted ones, in words."""
    if not info.inputs:
        return "it was built before datasets recorded their inputs, so they cannot be checked"
    out = []
    for key, now in inputs.items():
        then = info.inputs.get(key)
        if then == now:
            continue
        if key == "recordings":
            where = f" ({info.recordings} then, {root} now)" if info.recordings != str(root) else ""
            # frames are compared by size and modification time: say so, or a copy reads as an edit
            out.append(
                f"the recordings' content differs{where}: a json file's bytes, or a frame's size or "
                "modification time (a copy that does not keep modification times, such as cp -r "
                "without -p, changes them)"
            )
        elif key == "pairing":
            out.append("it paired act-record's press frames with their own actions (now: the frame before)")
        elif key == "elements":
            out.append("it was built without the recordings' element snapshots (reading supervision)")
        else:
            out.append(f"{key} {then} then, {now} now")
    return "; ".join(out) or "its fingerprint differs"


def _existing(out_dir: Path) -> DatasetInfo | None:
    """The dataset already at ``out_dir``, None when there is nothing (or an empty folder) there.

    Raises DatasetError, touching nothing, when ``out_dir`` holds anything else.
    """
    if not out_dir.exists():
        return None
    if not out_dir.is_dir():
        raise DatasetError(f"{out_dir} is a file, not a dataset directory: choose another directory")
    entries = sorted(p.name for p in out_dir.iterdir())
    if not entries:
        return None
    if INFO_FILE not in entries:
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise DatasetError(
            f"{out_dir} is not empty ({shown}) and is not a dataset built by act.data.build_dataset "
            f"(it has no {INFO_FILE}); nothing was changed. Choose another directory for the dataset, "
            "or delete this one yourself if you mean to replace it"
        )
    try:
        return DatasetInfo.load(out_dir)
    except (ValueError, TypeError, KeyError) as e:
        raise DatasetError(
            f"{out_dir / INFO_FILE} is unreadable ({type(e).__name__}: {e}); nothing was changed. "
            "Choose another directory for the dataset, or delete this one yourself"
        ) from e


def _foreign_entries(out_dir: Path) -> list[str]:
    """Entries of a dataset directory that build_dataset does not write (overwrite keeps off them)."""
    ours = {INFO_FILE, *_DATASET_FILES}
    return sorted(
        p.name
        for p in out_dir.iterdir()
        if not (p.is_file() and (p.name in ours or (p.name.startswith("data-") and p.suffix == ".arrow")))
    )


_STAGING = ".building-"


def _staging_prefix(out_dir: Path) -> str:
    return f".{out_dir.name}{_STAGING}{socket.gethostname()}-"


def _remove_dead_staging(out_dir: Path) -> None:
    """Remove what builds of ``out_dir`` on this host that were killed (their process is gone) left."""
    prefix = _staging_prefix(out_dir)
    if not out_dir.parent.is_dir():
        return
    for p in out_dir.parent.iterdir():
        pid = p.name[len(prefix) :].split("-")[0] if p.name.startswith(prefix) else ""
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except OSError:  # alive under another user
            pass


def _move_into_place(built: Path, out_dir: Path, replace: bool, trash: Path) -> DatasetInfo | None:
    """Rename ``built`` to ``out_dir`` (replacing the dataset there when ``replace``).

    Returns None, or the dataset another process moved into ``out_dir`` first.
    """
    if replace:
        if _foreign_entries(out_dir):  # something was put there while this build ran
            raise DatasetError(f"{out_dir}: files appeared in the dataset folder during the build; kept it")
        os.rename(out_dir, trash)  # the caller's staging folder removes it afterwards
        try:
            os.rename(built, out_dir)
        except OSError:
            os.rename(trash, out_dir)
            raise
        return None
    try:
        os.rename(built, out_dir)  # atomic; onto an empty folder or nothing
    except OSError as e:
        other = _existing(out_dir) if e.errno in (errno.ENOTEMPTY, errno.EEXIST) else None
        if other is None:
            raise
        return other
    return None


def _features(image_size: tuple[int, int], elements: bool = False):
    from datasets import Array3D, Features, Sequence, Value

    h, w = image_size
    pair = Sequence(Value("float32"), length=2)
    # With recordings that carry element snapshots (format 1.1): per step, the snapshot in force as
    # JSON, boxes normalised like points (act.data.reading.snapshot_elements), for reading supervision.
    extra = {"elements": Value("string")} if elements else {}
    return Features(
        {
            **extra,
            "episode_index": Value("int32"),
            "step_index": Value("int32"),
            "frame_index": Value("int32"),
            "t": Value("float64"),
            "image": Array3D((h, w, 3), "uint8"),
            "kind": Value("int8"),
            "point": pair,
            "point2": pair,
            "key": Value("int32"),
            "scroll": pair,
            "target": Sequence(Value("float32"), length=4),
            "instruction": Value("string"),
            "intent": Value("string"),
            "intent_id": Value("int32"),
            "task": Value("string"),
        }
    )


def target_box(action, width: float, height: float) -> list[float]:
    """The aimed-at box normalised to [0, 1] like points, or -1s where the recording has none."""
    if action.target is None:
        return [-1.0] * 4
    x0, y0, x1, y1 = action.target
    return [x0 / width, y0 / height, x1 / width, y1 / height]


def _rows(
    episodes: list[tuple[int, str]],
    image_size: tuple[int, int],
    space_json: dict,
    intents: tuple[str, ...],
    merge: dict,
    elements: bool = False,
) -> Iterator[dict[str, Any]]:
    """Rows of the given (episode_index, path) pairs; runs in ``num_proc`` worker processes."""
    space, intent_vocab = ActionSpace.from_json(space_json), Vocabulary(list(intents))
    for ep_index, path in episodes:
        ep = read_episode(path)
        actions = ep.actions(config=MergeConfig(**merge))
        arrays = space.encode(actions, ep.meta.screen.width, ep.meta.screen.height)
        frames: dict[int, np.ndarray] = {}
        size = (ep.meta.screen.width, ep.meta.screen.height)
        for step, a in enumerate(actions):
            if a.frame_index not in frames:
                frames = {a.frame_index: resize_frame(ep.frame(a.frame_index), image_size)}
            extra = {"elements": _elements_json(ep.elements_at(a.t), *size)} if elements else {}
            yield {
                **extra,
                "episode_index": ep_index,
                "step_index": step,
                "frame_index": a.frame_index,
                "t": a.t,
                "image": frames[a.frame_index],
                "kind": int(arrays["kind"][step]),
                "point": arrays["point"][step],
                "point2": arrays["point2"][step],
                "key": int(arrays["key"][step]),
                "scroll": arrays["scroll"][step],
                "target": target_box(a, ep.meta.screen.width, ep.meta.screen.height),
                "instruction": ep.meta.instruction,
                "intent": a.intent or "",
                "intent_id": intent_vocab.id(a.intent) if a.intent else 0,
                "task": ep.meta.task,
            }


def _elements_json(snapshot: Any, width: float, height: float) -> str:
    """The snapshot's elements as ``cell_words`` takes them, boxes normalised to [0, 1]; "" where no
    snapshot is in force (no reading targets for that step, not "no text")."""
    from act.data.reading import move_boxes, snapshot_elements

    if snapshot is None:
        return ""
    scale = (width, height, width, height)

    def normalise(box):
        return [round(v / s, 5) for v, s in zip(box, scale)]

    return json.dumps([move_boxes(e, normalise) for e in snapshot_elements(snapshot)])


def build_dataset(
    recordings: str | Path | Iterable[str | Path],
    out_dir: str | Path,
    image_size: tuple[int, int] = (120, 160),
    *,
    instruction_max_len: int = 32,
    num_proc: int | None = None,
    merge: MergeConfig | None = None,
    overwrite: bool = False,
) -> DatasetInfo:
    """Read every episode under ``recordings`` and write the step dataset to ``out_dir``; return its info.

    Every recording is validated first; any problem raises ``RecordingError`` before anything is
    written, so a dataset never silently misses an episode. The dataset is written next to
    ``out_dir`` and renamed into place, so ``out_dir`` never holds a half-written dataset.

    ``out_dir`` may be missing or an empty folder. If it holds the dataset of the same inputs (same
    recordings content, same parameters) that dataset is returned as it is, unless ``overwrite``.
    A dataset of other inputs raises ``DatasetError`` unless ``overwrite``; anything else raises
    ``DatasetError`` always: ``overwrite`` replaces only a folder holding nothing but a dataset this
    function wrote.
    """
    from datasets import Dataset, disable_progress_bars, enable_progress_bars
    from datasets.exceptions import DatasetGenerationError
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    existing = _existing(out_dir)  # refuses a foreign folder before any work
    image_size = (int(image_size[0]), int(image_size[1]))
    paths = find_episodes(recordings)
    if not paths:
        raise RecordingError(f"no episode directories (with meta.json) found under {recordings}")
    merge = merge or MergeConfig()
    root = recordings_root(paths)
    inputs = dataset_inputs(paths, image_size, instruction_max_len, merge)
    fingerprint = _fingerprint(inputs)
    if existing is not None:
        if existing.fingerprint == fingerprint and not overwrite:
            return existing
        if not overwrite:
            raise DatasetError(
                f"{out_dir} holds a dataset built from other inputs than {root} at {image_size} "
                f"({_differences(existing, inputs, root)}); nothing was changed. Choose another "
                "directory, pass overwrite=True to replace it, or delete it yourself"
            )
        foreign = _foreign_entries(out_dir)
        if foreign:
            raise DatasetError(
                f"{out_dir}: overwrite=True replaces only what build_dataset wrote, and this folder "
                f"also holds {', '.join(foreign)}; nothing was changed. Move those out or choose "
                "another directory"
            )

    # Pass 1 (no pixels): check every episode and collect vocabularies and statistics.
    all_actions, words, kinds, sources, tasks, screens, intents, episodes = (
        [],
        [],
        Counter(),
        Counter(),
        Counter(),
        Counter(),
        Counter(),
        [],
    )
    problems = []
    with_elements = bool(inputs.get("elements"))  # the dataset gets a per-step snapshot column
    for i, path in enumerate(tqdm(paths, desc="reading episodes", unit="ep", leave=False)):
        try:
            ep = read_episode(path)
            actions = ep.actions(config=merge)
        except RecordingError as e:
            problems.extend(e.problems)
            continue
        if not actions:
            problems.extend(RecordingError(f"{path}: the episode has no actions", path).problems)
            continue
        all_actions += actions
        words += tokenize(ep.meta.instruction)
        kinds.update(a.kind for a in actions)
        intents.update(a.intent for a in actions if a.intent)
        sources[ep.meta.source] += 1
        tasks[ep.meta.task] += 1
        screens[f"{ep.meta.screen.width}x{ep.meta.screen.height}@{ep.meta.screen.scale:g}"] += 1
        episodes.append(
            {
                "episode_index": i,
                "episode_id": ep.meta.episode_id,
                "path": str(path),
                "task": ep.meta.task,
                "steps": len(actions),
                "success": ep.meta.success,
                "complete": ep.meta.complete,
                "perturbation": ep.meta.perturbation,
            }
        )
    if problems:
        raise RecordingError(problems)

    space = ActionSpace.from_actions(all_actions)
    info = DatasetInfo(
        image_size=image_size,
        action_space=space.to_json(),
        instruction_vocab=Vocabulary.build(words).tokens,
        intent_vocab=Vocabulary.build(intents).tokens,
        instruction_max_len=instruction_max_len,
        num_episodes=len(episodes),
        num_steps=len(all_actions),
        kinds=dict(kinds),
        sources=dict(sources),
        tasks=dict(tasks),
        screens=dict(screens),
        intents=dict(intents),
        episodes=episodes,
        inputs=inputs,
        fingerprint=fingerprint,
        recordings=str(root),
    )

    # Pass 2: decode, resize and store frames, in parallel over contiguous shards of episodes.
    num_proc = max(1, min(num_proc or 1, len(paths)))
    items = [(e["episode_index"], e["path"]) for e in episodes]
    # datasets shards every *list* in gen_kwargs across processes: only ``episodes`` is a list.
    gen_kwargs = {
        "episodes": items,
        "image_size": image_size,
        "space_json": info.action_space,
        "intents": tuple(info.intent_vocab),
        "merge": asdict(merge),
        "elements": with_elements,
    }
    # Everything is written under one hidden sibling (same file system, so the final rename is
    # atomic) that goes away however the build ends; a killed build's is removed by the next one.
    _remove_dead_staging(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f"{_staging_prefix(out_dir)}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    built = staging / "dataset"
    try:
        try:
            ds = Dataset.from_generator(
                _rows,
                gen_kwargs=gen_kwargs,
                features=_features(image_size, with_elements),
                cache_dir=str(staging / "cache"),
                num_proc=num_proc if num_proc > 1 else None,
                split="train",
            )
        except DatasetGenerationError as e:  # `datasets` wraps what the reader raised: give back ours
            cause = e.__cause__ or e.__context__
            if isinstance(cause, RecordingError):
                raise cause from None
            raise
        disable_progress_bars()
        try:
            ds.save_to_disk(str(built))
        finally:
            enable_progress_bars()
        info.save(built)
        if existing is not None and _existing(out_dir) is None:
            existing = None  # removed meanwhile: nothing to replace
        other = _move_into_place(built, out_dir, existing is not None, staging / "replaced")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if other is not None:  # another process moved a dataset in first
        if other.fingerprint != fingerprint:
            raise DatasetError(
                f"{out_dir}: another build wrote a dataset of other inputs there while this one ran "
                f"({_differences(other, inputs, root)}); choose another directory"
            )
        return other
    info.path = out_dir
    return info
