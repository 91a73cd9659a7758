"""Recordings -> a Hugging Face ``datasets`` dataset on disk, one row per step, frames pre-decoded.

The dataset directory holds the Arrow files written by ``Dataset.save_to_disk`` (memory-mapped on
load, so a dataset larger than RAM trains) and ``act_dataset.json``: the ``DatasetInfo`` with the
vocabularies, image size and source statistics that policies copy into their config.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from act.recording import RecordingError, find_episodes, read_episode
from act.recording.events import MergeConfig
from act.spaces.action_space import ActionSpace
from act.spaces.image import resize_frame
from act.spaces.vocab import Vocabulary, tokenize

INFO_FILE = "act_dataset.json"


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

    def save(self, out_dir: Path) -> None:
        (Path(out_dir) / INFO_FILE).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> DatasetInfo:
        file = Path(path) / INFO_FILE
        if not file.is_file():
            raise FileNotFoundError(
                f"{file} is missing: is {path} a dataset built by act.data.build_dataset?"
            )
        data = json.loads(file.read_text())
        data["image_size"] = tuple(data["image_size"])
        return cls(**data)

    @property
    def space(self) -> ActionSpace:
        return ActionSpace.from_json(self.action_space)


def _features(image_size: tuple[int, int]):
    from datasets import Array3D, Features, Sequence, Value

    h, w = image_size
    pair = Sequence(Value("float32"), length=2)
    return Features(
        {
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
) -> Iterator[dict[str, Any]]:
    """Rows of the given (episode_index, path) pairs; runs in ``num_proc`` worker processes."""
    space, intent_vocab = ActionSpace.from_json(space_json), Vocabulary(list(intents))
    for ep_index, path in episodes:
        ep = read_episode(path)
        actions = ep.actions(config=MergeConfig(**merge))
        arrays = space.encode(actions, ep.meta.screen.width, ep.meta.screen.height)
        frames: dict[int, np.ndarray] = {}
        for step, a in enumerate(actions):
            if a.frame_index not in frames:
                frames = {a.frame_index: resize_frame(ep.frame(a.frame_index), image_size)}
            yield {
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
    """Read every episode under ``recordings`` and write the step dataset to ``out_dir``.

    Every recording is validated first; any problem raises ``RecordingError`` before anything is
    written, so a dataset never silently misses an episode.
    """
    from datasets import Dataset, disable_progress_bars, enable_progress_bars
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out_dir} is not empty; pass overwrite=True to replace it")
        shutil.rmtree(out_dir)
    image_size = (int(image_size[0]), int(image_size[1]))
    paths = find_episodes(recordings)
    if not paths:
        raise RecordingError(f"no episode directories (with meta.json) found under {recordings}")
    merge = merge or MergeConfig()

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
    }
    cache = out_dir.parent / f".{out_dir.name}.cache"
    try:
        ds = Dataset.from_generator(
            _rows,
            gen_kwargs=gen_kwargs,
            features=_features(image_size),
            cache_dir=str(cache),
            num_proc=num_proc if num_proc > 1 else None,
            split="train",
        )
        disable_progress_bars()
        try:
            ds.save_to_disk(str(out_dir))
        finally:
            enable_progress_bars()
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    info.save(out_dir)
    return info
