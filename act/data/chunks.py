"""(observation, action chunk) samples from a built dataset, and the LightningDataModule around them."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, IterableDataset, RandomSampler

from act.data.augment import Augment, AugmentedDataset
from act.data.build import DatasetInfo, dataset_path
from act.data.reading import READ_TARGETS, cell_index, cell_targets, read_target_names
from act.spaces.copy import copy_targets, typed_counts
from act.spaces.vocab import Vocabulary, encode_bytes, tokenize

ACTION_COLUMNS = ("kind", "point", "point2", "key", "scroll")
IGNORE_CELL = -100  # cell_words where a step has no element snapshot: cross_entropy's ignore_index


def _column(table, name: str) -> np.ndarray:
    """A whole Arrow column as numpy; fixed-size pairs become (N, 2)."""
    col = table.column(name).combine_chunks()
    if hasattr(col.type, "value_type"):  # list of 2 floats
        return col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), -1)
    return col.to_numpy(zero_copy_only=False)


class ChunkDataset(Dataset):
    """Sample i: the frame at step i, the instruction, the next K actions with ``is_pad`` and the intent.

    ``instruction_vocab`` / ``instruction_max_len`` tokenise with a policy's vocabulary instead of the
    dataset's. Windows never cross episodes: past an episode's last step the actions are zeros with
    ``is_pad=True``. Frames are read straight from the memory-mapped Arrow buffers (no decoding, no
    copy of the dataset into RAM); only the small action columns are loaded.

    ``path``: the dataset's directory, or the ``DatasetInfo`` that build_dataset / DatasetInfo.load
    returned.

    Each sample: image uint8 (3, H, W); instruction int64 (L,); kind int64 (K,); point float32 (K, 2);
    point2 float32 (K, 2); key int64 (K,); scroll float32 (K, 2); target float32 (K, 4) (the box a
    pointer step aims at, normalised, -1 where unknown; for offline metrics); is_pad bool (K,);
    intent int64 (); episode_index, step_index int64 (); and for typing by copying
    instruction_bytes int64 (MAX_INSTRUCTION_BYTES,) (the instruction's byte ids, ``encode_bytes``)
    and copy int64 (K,) (the instruction byte each key step copies, ``copy_targets``; -1 none) and
    typed int64 (K,) (characters of the span being typed before each step, ``typed_counts``);
    prev_kind int64 (K,) (1 + the kind of the step before each step, 0 at an episode's first step,
    ``previous_kinds``). With ``cells`` = (rows, cols, stride) of a policy's grid and a dataset built
    from recordings with element snapshots (format 1.1): cell_words int64 (rows * cols,), the
    instruction word each cell shows (``act.data.reading.cell_words``), and cell_spans int64 (rows *
    cols,), the instruction span each cell shows (``act.data.reading.cell_spans``), for reading
    supervision: those of them ``read_targets`` names (a policy learns from one:
    ``ACTConfig.read_target``).
    """

    def __init__(
        self,
        path: str | Path | DatasetInfo,
        chunk_size: int,
        episodes: list[int] | None = None,
        instruction_vocab: list[str] | None = None,
        instruction_max_len: int | None = None,
        cells: tuple[int, int, int] | None = None,
        read_targets: Sequence[str] = READ_TARGETS,
    ):
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.path = dataset_path(path)
        self.chunk_size = chunk_size
        self.info = DatasetInfo.load(self.path)
        self._images: list[np.ndarray] | None = None
        table = self._table()
        self.episode = _column(table, "episode_index").astype(np.int64)
        self.step = _column(table, "step_index").astype(np.int64)
        self.actions = {c: _column(table, c) for c in ACTION_COLUMNS}
        self.intent = _column(table, "intent_id").astype(np.int64)
        names = table.column_names
        self.target = (
            _column(table, "target") if "target" in names else np.full((len(self.episode), 4), -1, np.float32)
        )
        # Reading supervision where the recordings carried element snapshots and the policy reads on
        # a grid of ``cells`` = (rows, cols, stride): each sample's ``read_targets``.
        self.cells = cells if cells is not None and "elements" in names else None
        self.read_targets = read_target_names(read_targets, "ChunkDataset")
        self.elements = table.column("elements").to_pylist() if self.cells else None
        self._cell_of_pixel = cell_index(*self.cells) if self.cells else None
        if len(self.episode) and (np.diff(self.episode) < 0).any():
            raise ValueError(f"{self.path}: rows are not grouped by episode; rebuild the dataset")
        # End row (exclusive) of each row's episode, so a window stops there.
        starts = np.flatnonzero(np.r_[True, self.episode[1:] != self.episode[:-1]])
        ends = np.r_[starts[1:], len(self.episode)]
        self.episode_end = np.repeat(ends, np.diff(np.r_[starts, len(self.episode)]))
        # The instruction is constant within an episode: tokenise once per episode.
        # (A policy trained on another dataset passes its own vocabulary and length.)
        vocab = self.words = Vocabulary(
            instruction_vocab if instruction_vocab is not None else self.info.instruction_vocab
        )
        max_len = instruction_max_len or self.info.instruction_max_len
        texts = self.texts = table.column("instruction").take(starts).to_pylist()
        per_episode = np.array([vocab.encode(tokenize(t), max_len) for t in texts], np.int64).reshape(
            -1, max_len
        )
        self.instruction = per_episode[
            np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(self.episode)]))
        ]
        # Typing by copying: the instruction's bytes per episode, the byte each key step copies.
        self.episode_slot = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(self.episode)]))
        self.instruction_bytes = np.array([encode_bytes(t) for t in texts], np.int16).reshape(len(texts), -1)
        self.copy = np.full(len(self.episode), -1, np.int64)
        self.typed = np.zeros(len(self.episode), np.int64)  # characters of the span typed before each step
        self.prev_kind = np.zeros(len(self.episode), np.int64)  # 1 + the previous step's kind, 0 first
        space, kinds, keys = self.info.space, self.actions["kind"], self.actions["key"]
        key_kind = space.kinds.index("key") if "key" in space.kinds else -1
        for start, end, text in zip(starts, ends, texts):
            self.prev_kind[start:end] = previous_kinds(kinds[start:end])
            if (kinds[start:end] == key_kind).any():
                tokens = [
                    space.keys.token(int(k)) if kind == key_kind else None
                    for kind, k in zip(kinds[start:end], keys[start:end])
                ]
                self.copy[start:end] = copy_targets(text, tokens)
                self.typed[start:end] = typed_counts(tokens)
        self.rows = (
            np.arange(len(self.episode))
            if episodes is None
            else np.flatnonzero(np.isin(self.episode, episodes))
        )

    def _table(self):
        from datasets import load_from_disk

        return load_from_disk(str(self.path)).data.table

    def _frames(self) -> list[tuple[int, np.ndarray]]:
        """(first row, uint8 (n, H, W, 3) view) per Arrow record batch; opened lazily per process."""
        if self._images is None:
            h, w = self.info.image_size
            self._images, row = [], 0
            for chunk in self._table().column("image").chunks:
                values = chunk.storage.flatten().flatten().flatten().to_numpy(zero_copy_only=True)
                self._images.append((row, values.reshape(len(chunk), h, w, 3)))
                row += len(chunk)
            self._starts = np.array([s for s, _ in self._images])
        return self._images

    def frame(self, row: int) -> np.ndarray:
        """The stored frame of a dataset row, uint8 (H, W, 3) (a read-only view)."""
        images = self._frames()
        c = int(np.searchsorted(self._starts, row, side="right")) - 1
        start, block = images[c]
        return block[row - start]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_images": None}  # views are re-opened in each worker

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        r = int(self.rows[i])
        k = self.chunk_size
        end = min(r + k, int(self.episode_end[r]))
        sample: dict[str, torch.Tensor] = {
            "image": torch.from_numpy(np.ascontiguousarray(self.frame(r).transpose(2, 0, 1))),  # (3, H, W)
            "instruction": torch.from_numpy(self.instruction[r]),  # (L,)
            "instruction_bytes": torch.from_numpy(
                self.instruction_bytes[self.episode_slot[r]].astype(np.int64)
            ),
        }
        sample.update(
            chunk_window(
                {
                    **self.actions,
                    "target": self.target,
                    "copy": self.copy,
                    "typed": self.typed,
                    "prev_kind": self.prev_kind,
                },
                r,
                end,
                k,
            )
        )
        if self.cells:
            rows, cols, _ = self.cells
            if self.elements[r]:
                text = self.texts[self.episode_slot[r]]
                targets = cell_targets(
                    json.loads(self.elements[r]),
                    1.0,
                    1.0,
                    self.cells,
                    self.info.image_size,
                    self.words,
                    text,
                    self._cell_of_pixel,
                    self.read_targets,
                )
            else:  # no snapshot for this step: no reading targets (the loss ignores -100), not "blank"
                targets = {name: np.full(rows * cols, IGNORE_CELL, np.int64) for name in self.read_targets}
            sample.update({k: torch.from_numpy(v) for k, v in targets.items()})  # (C,) each
        sample["intent"] = torch.tensor(self.intent[r])
        sample["episode_index"] = torch.tensor(self.episode[r])
        sample["step_index"] = torch.tensor(self.step[r])
        return sample


def previous_kinds(kinds: np.ndarray) -> np.ndarray:
    """Per step of one episode, 1 + the kind id of the step before it, 0 at the first step: int64 (N,).
    What a policy with ``prev_action`` is told it did last."""
    out = np.zeros(len(kinds), np.int64)
    out[1:] = np.asarray(kinds[:-1], np.int64) + 1
    return out


def chunk_window(columns: dict[str, np.ndarray], start: int, end: int, k: int) -> dict[str, torch.Tensor]:
    """Rows [start, end) of each column padded to K rows, and ``is_pad`` (K,) bool.

    Action columns pad with 0 (float32 or int64 by kind); ``target`` (aimed-at boxes) and ``copy``
    (copied instruction bytes) pad with -1, "unknown" / "none". The one place a (observation, chunk)
    sample's window is cut, for recorded and on-the-fly data alike.
    """
    n = end - start
    out: dict[str, torch.Tensor] = {}
    for name, col in columns.items():
        fill = -1 if name in ("target", "copy") else 0
        window = np.full((k, *col.shape[1:]), fill, np.float32 if col.dtype.kind == "f" else np.int64)
        window[:n] = col[start:end]
        out[name] = torch.from_numpy(window)  # (K,), (K, 2) or (K, 4)
    is_pad = np.ones(k, bool)
    is_pad[:n] = False
    out["is_pad"] = torch.from_numpy(is_pad)  # (K,)
    return out


def split_episodes(num_episodes: int, val_fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Train/val episode indices: a seeded permutation, at least one val episode when there are two."""
    order = np.random.default_rng(seed).permutation(num_episodes).tolist()
    n_val = int(round(num_episodes * val_fraction))
    if val_fraction > 0 and num_episodes >= 2:
        n_val = min(max(n_val, 1), num_episodes - 1)
    return sorted(order[n_val:]), sorted(order[:n_val])


class ResumableRandomSampler(RandomSampler):
    """``RandomSampler`` (same draws: one seed per epoch from the torch RNG) that remembers the
    epoch's seed and can start an epoch part-way through, for an exact mid-epoch resume."""

    def __init__(self, data_source) -> None:
        super().__init__(data_source)
        self.epoch_seed: int | None = None  # the current epoch's seed, once its first index is drawn
        self._resume: tuple[int, int] | None = None

    def resume(self, seed: int, skip: int) -> None:
        """The next epoch replays epoch ``seed``'s order from its ``skip``-th index, drawing nothing."""
        self._resume = (seed, skip)

    def __iter__(self):
        resume, self._resume = self._resume, None
        seed, skip = resume if resume else (int(torch.empty((), dtype=torch.int64).random_().item()), 0)
        self.epoch_seed = seed
        generator = torch.Generator()
        generator.manual_seed(seed)
        yield from torch.randperm(len(self.data_source), generator=generator).tolist()[skip:]


class ResumableDistributedSampler(DistributedSampler):
    """``DistributedSampler`` (the one Lightning would put in under DDP: an order per epoch from
    ``seed``) that can start an epoch part-way through, for an exact mid-epoch resume."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._skip = 0

    def resume(self, skip: int) -> None:
        """The next epoch starts at this rank's ``skip``-th index."""
        self._skip = skip

    def __iter__(self):
        skip, self._skip = self._skip, 0
        return itertools.islice(super().__iter__(), skip, None)


try:
    import lightning as L

    _Base = L.LightningDataModule
except ImportError:  # pragma: no cover - lightning is a dependency; this keeps act.data importable alone
    _Base = object


class ActDataModule(_Base):
    """Train/val ChunkDatasets split by episode (never by step), with their DataLoaders.

    ``train_stream`` (an endless IterableDataset such as ``ExpertStream``) replaces the train split:
    training then sees fresh samples, validation still reads the built dataset's val episodes.
    ``path``: the dataset's directory or its ``DatasetInfo``, as for ChunkDataset. ``augment`` shifts,
    zooms and colour-jitters the recorded train samples (``act.data.augment``), as a stream does its own.
    """

    def __init__(
        self,
        path: str | Path | DatasetInfo,
        chunk_size: int,
        batch_size: int = 32,
        val_fraction: float = 0.1,
        num_workers: int = 0,
        seed: int = 0,
        train_stream: IterableDataset | None = None,
        cells: tuple[int, int, int] | None = None,
        augment: Augment | None = None,
        read_targets: Sequence[str] = READ_TARGETS,
    ):
        super().__init__()
        self.train_stream, self.cells, self.augment = train_stream, cells, augment
        self.read_targets = read_target_names(read_targets, "ActDataModule")
        self.path, self.chunk_size, self.batch_size = dataset_path(path), chunk_size, batch_size
        self.val_fraction, self.num_workers, self.seed = val_fraction, num_workers, seed
        self.info = DatasetInfo.load(self.path)
        self.train_episodes, self.val_episodes = split_episodes(self.info.num_episodes, val_fraction, seed)
        self.train_set: ChunkDataset | AugmentedDataset | None = None
        self.val_set: ChunkDataset | None = None
        self.sampler: ResumableRandomSampler | ResumableDistributedSampler | None = None
        self._resume: dict[str, Any] | None = None  # from load_state_dict, for the next train loader

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = self._split(self.train_episodes)
            if self.augment is not None and self.augment.enabled:  # the train split only
                cells = None if self.cells is None else self.cells[:2]
                self.train_set = AugmentedDataset(self.train_set, self.augment, cells)
            self.val_set = self._split(self.val_episodes)

    def _split(self, episodes: list[int]) -> ChunkDataset:
        return ChunkDataset(
            self.path, self.chunk_size, episodes, cells=self.cells, read_targets=self.read_targets
        )

    def _loader(self, dataset: ChunkDataset | AugmentedDataset, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=self.sampler if shuffle else None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            drop_last=shuffle and len(dataset) > self.batch_size,
        )

    def train_dataloader(self) -> DataLoader:
        self.setup()
        resume, self._resume = self._resume, None
        key = "stream" if self.train_stream is not None else "sampler"
        if resume and resume.get("batches_done") and resume.get(key) is None:
            import warnings

            warnings.warn(
                f"resuming {resume['batches_done']} batches into an epoch whose data position the "
                "checkpoint does not hold (an online stream with data.num_workers > 0 keeps it in its "
                "workers): this epoch's data starts over, so the resumed run differs from an "
                "uninterrupted one",
                stacklevel=2,
            )
        if self.train_stream is not None:
            if hasattr(self.train_stream, "load_state_dict"):
                self.train_stream.snapshot_every = self.batch_size  # a state per batch, for state_dict
                if resume and resume.get("stream") is not None:
                    self.train_stream.load_state_dict(resume["stream"])
            return DataLoader(
                self.train_stream,
                batch_size=self.batch_size,
                num_workers=self.num_workers,
                persistent_workers=self.num_workers > 0,
            )
        saved = resume.get("sampler") if resume else None  # an epoch's seed or "distributed"
        skip = resume["batches_done"] * self.batch_size if saved is not None else 0
        trainer = getattr(self, "trainer", None)
        ddp = trainer is not None and trainer.world_size > 1
        if ddp and getattr(trainer._accelerator_connector, "use_distributed_sampler", True):
            # DDP: the sampler and seed Lightning would put in (it leaves a DistributedSampler alone)
            seed, shuffle = int(os.environ.get("PL_GLOBAL_SEED", 0)), not trainer.overfit_batches
            self.sampler = ResumableDistributedSampler(
                self.train_set, shuffle=shuffle, seed=seed, **trainer.distributed_sampler_kwargs
            )
            if saved == "distributed":
                self.sampler.resume(skip)
        else:
            self.sampler = ResumableRandomSampler(self.train_set)
            if isinstance(saved, int):
                self.sampler.resume(saved, skip)
        return self._loader(self.train_set, shuffle=True)

    # Exact resume, mid-epoch too: where the current epoch stands, saved with every checkpoint.
    def state_dict(self) -> dict[str, Any]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return {}
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed  # batches trained this epoch
        if done >= trainer.num_training_batches:  # the epoch is over: the next starts afresh
            return {"batches_done": done, "sampler": None, "stream": None}
        # sampler: the epoch's seed (one process) or "distributed" (the order comes from the epoch)
        state: dict[str, Any] = {"batches_done": done, "sampler": None, "stream": None}
        if self.train_stream is not None:
            state_at = getattr(self.train_stream, "state_at", None)
            state["stream"] = state_at(done * self.batch_size) if state_at else None
        elif isinstance(self.sampler, ResumableDistributedSampler):
            state["sampler"] = "distributed"
        elif self.sampler is not None:
            state["sampler"] = self.sampler.epoch_seed
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume = dict(state_dict) if state_dict else None

    def val_dataloader(self) -> DataLoader:
        self.setup()
        return self._loader(self.val_set, shuffle=False)
