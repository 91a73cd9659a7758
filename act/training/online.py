"""Fresh demonstrations rendered on the fly: synthui's experts as an endless stream of training samples.

A built dataset of a few thousand steps is memorised long before a pointer head learns to read
labels (docs/experiments.md#online). synthui draws an episode in about a millisecond, so a
training step can see episodes nobody saw before. The built dataset still supplies the
vocabularies, the validation split and the macro's recordings; ``ExpertStream`` yields samples in
exactly ``ChunkDataset``'s format, tokenised with its vocabularies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from act.data.augment import augment_of, augment_sample
from act.data.build import DatasetInfo, target_box
from act.data.chunks import chunk_window, previous_kinds
from act.data.reading import READ_TARGETS, cell_index, cell_targets, cell_words, move_boxes, read_target_names
from act.recording.schema import POINTER_KINDS, Action
from act.spaces.copy import copy_targets, typed_counts
from act.spaces.image import resize_frame
from act.spaces.vocab import Vocabulary, encode_bytes, tokenize
from act.training.config import TEXT_RANDOM_TASKS

# Episode seeds of the stream start here, far from the seeds that generation (0, 1, ...) and the
# evaluation suites (1000, ...) use, so no evaluated episode is ever a training episode.
SEED_BASE = 10_000_000
BALANCE_SEED, BALANCE_EPISODES = 9_000_000, 16  # expert episodes per task that task_balance measures
MAX_ENVS = 256  # envs kept per stream: randomised specs would otherwise grow the cache without end


class ExpertStream(IterableDataset):
    """Endless (observation, action chunk) samples from synthui experts on fresh seeds.

    Each episode draws a task and a perturbation spec uniformly from ``tasks`` x ``perturbations``
    ("" = nominal), runs the scripted expert and yields every step of it through a shuffle buffer of
    ``buffer`` samples (episodes are 1-10 steps; their steps should not share a batch). Samples have
    the keys and shapes of ``ChunkDataset``; with ``cells`` = (rows, cols, stride) of the policy's
    feature grid they also carry ``cell_words`` (rows * cols,): the instruction-vocabulary id of the
    word written in each cell (0 none, 1 a word outside the vocabulary), and ``cell_spans`` (rows *
    cols,): 1 + the index of the instruction span written there (0 none), read from the element tree
    (image uint8 (3, H, W), instruction (L,), kind/key (K,), point/point2/scroll (K, 2), target (K, 4),
    is_pad (K,), intent, episode_index, step_index); ``read_targets`` names which of the two it computes
    (act-train asks for the one its policy learns from; the two took 31% of the demo stream's time).
    Every DataLoader worker (and every DDP rank) draws its own seeds.

    ``task_balance`` (0 to 1) evens out training samples instead of episodes between tasks: each task is
    drawn with probability proportional to its weight times L ** -task_balance, L the mean steps of
    its expert's episodes (measured once on ``BALANCE_EPISODES`` seeds of its own, ``steps_per_task``).
    At 1 a one-click task gives as many samples as a typing task of 15 steps; at 0 (the default) each
    task gives an equal share of episodes, and ``task_weights`` alone tilt the draw.
    ``randomise`` (a ``Randomise``, or anything with its fields) draws each episode's perturbation
    at random instead of from ``perturbations``: families, severities and compositions of two.
    ``augment`` (an ``act.data.augment.Augment``, or anything with its fields) shifts, zooms and
    colour-jitters each sample's screen, its targets and ``cell_words`` moved to match.
    ``variety`` (0 to 1) makes the experts' demonstrations varied (``act.envs.synthui.expert``).
    ``dagger`` (a ``StreamDaggerConfig``, or anything with ``share`` and ``beta``): DAgger in the
    stream. Once ``rollout_policy`` is set (``StreamDagger`` sets it to a snapshot of the policy in
    training), a ``share`` of the episodes (drawn per seed) is rolled out by it, the expert's action
    running instead with probability ``beta`` per step (``act.training.dagger.MixedEnv``), and every
    state reached is labelled by the careful expert (no slips). A resumed stream re-rolls its
    buffered episodes with the snapshot it has then, so those are not the ones it had.

    ``shift`` > 0 moves each episode's screens, actions and element boxes by a random offset of up
    to that fraction of the screen per axis (the window slides partly off screen; a random colour
    fills the strip it leaves), kept small enough that every pointer action and every element on
    screen stays on screen (a tick mark pushed off the edge contradicts the clicks around it);
    ``shift_share`` of the episodes (drawn per seed) are moved, the rest stay where the layout put
    them. Without it the policy ties elements to the few positions the layouts put them at and can
    miss a menu bar moved by a few pixels (docs/experiments.md#shift).
    """

    def __init__(
        self,
        info: DatasetInfo,
        tasks: Sequence[str],
        perturbations: Sequence[str] = ("",),
        chunk_size: int = 10,
        seed: int = 0,
        buffer: int = 256,
        rank: int = 0,
        cells: tuple[int, int, int] | None = None,
        shift: float = 0.0,
        shift_share: float = 1.0,
        task_weights: Sequence[float] | None = None,
        task_balance: float = 0.0,
        randomise: Any = None,
        augment: Any = None,
        text_random: float = 0.0,
        text_random_tasks: str = "all",
        variety: float = 0.0,
        dagger: Any = None,
        read_targets: Sequence[str] = READ_TARGETS,
    ):
        if not tasks:
            raise ValueError("ExpertStream: no tasks given")
        self.info, self.tasks, self.perturbations = info, list(tasks), list(perturbations) or [""]
        self.chunk_size, self.seed, self.buffer, self.rank = chunk_size, seed, buffer, rank
        self.cells = cells
        self.read_targets = read_target_names(read_targets, "ExpertStream")
        if not 0.0 <= shift < 0.5:
            raise ValueError(f"ExpertStream: shift {shift} must be in [0, 0.5) (a fraction of the screen)")
        if not 0.0 <= shift_share <= 1.0:
            raise ValueError(f"ExpertStream: shift_share {shift_share} must be in [0, 1]")
        self.shift, self.shift_share = shift, shift_share
        self.task_p = None if task_weights is None else task_probabilities(task_weights, self.tasks)
        if not 0.0 <= task_balance <= 1.0:
            raise ValueError(f"ExpertStream: task_balance {task_balance} must be in [0, 1]")
        self.task_balance = task_balance
        self._steps_per_task: dict[str, float] | None = None
        self.randomise = Randomise.of(randomise)
        self.augment = augment_of(augment)
        if not 0.0 <= text_random <= 1.0:
            raise ValueError(f"ExpertStream: text_random {text_random} must be a share in [0, 1]")
        if text_random_tasks not in TEXT_RANDOM_TASKS:
            raise ValueError(
                f"ExpertStream: text_random_tasks {text_random_tasks!r} is not one of {TEXT_RANDOM_TASKS}"
            )
        self.text_random, self.text_random_tasks = text_random, text_random_tasks
        if not 0.0 <= variety <= 1.0:
            raise ValueError(f"ExpertStream: variety {variety} must be in [0, 1]")
        self.variety = variety
        self.dagger_share = float(getattr(dagger, "share", 0.0) or 0.0)
        self.dagger_beta = float(getattr(dagger, "beta", 0.5))
        self.rollout_policy: Any = None  # the policy that rolls out a dagger share (None: experts only)
        self.dagger_episodes = self.dagger_labels = 0  # rolled out by it so far, and their samples
        self._cell_of_pixel = None if cells is None else cell_index(*cells)  # (rows * stride, cols * stride)
        self.space = info.space
        self.words = Vocabulary(info.instruction_vocab)
        self.intents = Vocabulary(info.intent_vocab)
        self._envs: dict[tuple[str, str], Any] = {}
        # Resume: with snapshot_every = n > 0, the iterator keeps its state after every n samples
        # (the last few), so a checkpoint can name the state at the batch training had reached.
        self.snapshot_every = 0
        self._snapshots: dict[int, dict[str, Any]] = {}
        self._resume: dict[str, Any] | None = None

    def _env(self, task: str, perturbation: str, text_split: str = "train"):
        from act.envs.synthui import SynthUIEnv

        key = (task, perturbation, text_split)
        if key not in self._envs:
            if len(self._envs) >= MAX_ENVS:  # the oldest goes (an env holds no state between episodes)
                del self._envs[next(iter(self._envs))]
            self._envs[key] = SynthUIEnv(
                task, perturbation=perturbation or None, text_split=text_split, expert_variety=self.variety
            )
        return self._envs[key]

    def steps_per_task(self) -> dict[str, float]:
        """The mean steps of each task's expert episode, over ``BALANCE_EPISODES`` seeds of its own
        (the stream's perturbations in turn, its text split per seed); measured once."""
        if self._steps_per_task is None:
            from act.envs.expert_loop import ExpertSteps
            from act.envs.synthui import expert_for

            steps = {}
            for task in self.tasks:
                counts = []
                for i in range(BALANCE_EPISODES):
                    seed = BALANCE_SEED + i
                    spec = self.perturbations[i % len(self.perturbations)]
                    env = self._env(task, spec, self.text_split(task, seed))
                    counts.append(sum(1 for _ in ExpertSteps(env, seed, expert_for(env))))
                steps[task] = float(np.mean(counts))
            self._steps_per_task = steps
        return self._steps_per_task

    def draw_probabilities(self) -> np.ndarray | None:
        """P(task) per episode draw, in ``tasks`` order (None: uniform): ``task_weights`` times
        steps ** -task_balance, normalised."""
        if self.task_balance <= 0:
            return self.task_p
        steps = self.steps_per_task()
        w = np.array([max(steps[t], 1.0) ** -self.task_balance for t in self.tasks])
        if self.task_p is not None:
            w = w * self.task_p
        return w / w.sum()

    def text_split(self, task: str, seed: int) -> str:
        """Episode ``seed``'s strings: "random" letters for a ``text_random`` share (of the typing
        tasks' episodes only, with ``text_random_tasks`` "typing"), else the train lists (a function
        of the seed, so a resumed stream renders the same episodes)."""
        from act.envs.synthui.tasks import TASKS

        if self.text_random <= 0 or (self.text_random_tasks == "typing" and not TASKS[task].types_text):
            return "train"
        return (
            "random"
            if np.random.default_rng([self.seed, seed, 0x7E47]).random() < self.text_random
            else "train"
        )

    def episode(self, task: str, perturbation: str, seed: int) -> list[dict[str, torch.Tensor]]:
        """All samples of one expert episode (failed episodes too: the expert corrects its slips)."""
        from act.envs.expert_loop import ExpertSteps
        from act.envs.synthui import expert_for

        env = self._env(task, perturbation, self.text_split(task, seed))
        runner, expert = env, expert_for(env)
        policy = self.rollout_policy
        if (
            policy is not None
            and np.random.default_rng([self.seed, seed, 0xDA66]).random() < self.dagger_share
        ):
            from act.envs.synthui.expert import careful_expert
            from act.training.dagger import MixedEnv

            rng = np.random.default_rng([self.seed, seed, 0xDA67])
            runner = MixedEnv(env, policy, self.dagger_beta, rng, perturbation=perturbation)
            expert = careful_expert(env)  # labels every state the mixed rollout reaches
            self.dagger_episodes += 1
        screens, actions, elements = [], [], []
        for obs, action, info in ExpertSteps(runner, seed, expert):
            if not screens:  # the instruction as the first screen shows it
                text = obs["instruction"]
                words = self.words.encode(tokenize(text), self.info.instruction_max_len)
            screens.append(obs["screen"])
            keep = self.cells or self.shift > 0 or self.augment is not None
            elements.append(info["elements"] if keep else None)
            actions.append(action)
        if runner is not env:
            self.dagger_labels += len(actions)
        moved = self.shift_share >= 1 or np.random.default_rng([seed, 0x5418]).random() < self.shift_share
        if self.shift > 0 and moved:
            rng = np.random.default_rng([seed, 0x5417])
            screens, actions, elements = _translate_episode(
                screens, actions, elements, self.shift, rng, env.width, env.height
            )
        frames = [resize_frame(s, self.info.image_size) for s in screens]
        reads = [self.cell_reading(e, env.width, env.height, text) for e in elements if self.cells]
        arrays = self.space.encode(actions, env.width, env.height)
        arrays["target"] = np.array([target_box(a, env.width, env.height) for a in actions], np.float32)
        keys = [a.key if a.kind == "key" else None for a in actions]
        arrays["copy"] = np.array(copy_targets(text, keys), np.int64)  # (N,) byte copied, -1 none
        arrays["typed"] = np.array(typed_counts(keys), np.int64)  # (N,) span characters typed before
        arrays["prev_kind"] = previous_kinds(arrays["kind"])  # (N,) 1 + the step before's kind, 0 first
        instruction = torch.tensor(words)
        intents = [self.intents.id(a.intent) if a.intent else 0 for a in actions]
        samples = [
            self._sample(frames[i], instruction, arrays, i, intents, seed) for i in range(len(actions))
        ]
        for sample, read in zip(samples, reads):
            sample.update(read)  # cell_words and/or cell_spans (C,) each
        instruction_bytes = torch.tensor(encode_bytes(text))
        for sample in samples:
            sample["instruction_bytes"] = instruction_bytes  # (MAX_INSTRUCTION_BYTES,)
        if self.augment is not None:
            samples = [
                self._augmented(s, e, seed, env.width, env.height, text) for s, e in zip(samples, elements)
            ]
        return samples

    def _augmented(
        self, sample, elements, seed: int, width: float, height: float, text: str
    ) -> dict[str, torch.Tensor]:
        """``sample`` augmented (its own generator per episode seed and step, so a resumed stream
        renders it again exactly); the elements on screen stay on screen and relabel the cells."""
        rng = np.random.default_rng([seed, int(sample["step_index"]), 0xA06])
        scale = np.array([width, height, width, height])
        keep = np.array(_kept_boxes(elements, width, height), np.float64).reshape(-1, 4) / scale
        out, warp = augment_sample(sample, rng, self.augment, keep=keep)
        if self.cells and not warp.identity:
            moved = [
                move_boxes(e, lambda b: tuple(warp.boxes(np.array(b) / scale) * scale)) for e in elements
            ]
            out.update(self.cell_reading(moved, width, height, text))
        return out

    def cell_reading(self, elements, width: float, height: float, text: str) -> dict[str, torch.Tensor]:
        """A frame's reading targets: those ``read_targets`` names (cell_words, cell_spans), (C,) each."""
        targets = cell_targets(
            elements,
            width,
            height,
            self.cells,
            self.info.image_size,
            self.words,
            text,
            self._cell_of_pixel,
            self.read_targets,
        )
        return {k: torch.from_numpy(v) for k, v in targets.items()}

    def cell_words(self, elements: list[dict[str, Any]], width: int, height: int) -> np.ndarray:
        """The word each feature cell shows (act.data.reading.cell_words on the policy's grid)."""
        return cell_words(
            elements, width, height, self.cells, self.info.image_size, self.words, self._cell_of_pixel
        )

    def _sample(self, frame, instruction, arrays, i, intents, seed) -> dict[str, torch.Tensor]:
        k = self.chunk_size
        sample = {
            "image": torch.from_numpy(np.ascontiguousarray(frame.transpose(2, 0, 1))),  # (3, H, W)
            "instruction": instruction,  # (L,)
            **chunk_window(arrays, i, min(i + k, len(intents)), k),
        }
        sample["intent"] = torch.tensor(intents[i])
        sample["episode_index"] = torch.tensor(seed)
        sample["step_index"] = torch.tensor(i)
        return sample

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        worker = get_worker_info()
        wid, nworkers = (worker.id, worker.num_workers) if worker else (0, 1)
        stream = self.rank * nworkers + wid  # a distinct seed stream per worker and rank
        rng = np.random.default_rng([self.seed, stream, 0x0A11])
        buffer: list[dict[str, torch.Tensor]] = []
        keys: list[tuple[str, str, int, int]] = []  # (task, perturbation, seed, step) of each buffered sample
        counter = yielded = 0
        resume, self._resume = self._resume, None
        if resume is not None and worker is None:
            rng.bit_generator.state = resume["rng"]
            counter, yielded = resume["counter"], resume["yielded"]
            keys = [tuple(k) for k in resume["keys"]]
            buffer = self._rebuild(keys)
        self._snapshots = {}
        draw_p = self.draw_probabilities()  # (tasks,) or None: uniform
        while True:
            while len(buffer) > self.buffer:
                i = int(rng.integers(len(buffer)))
                keys.pop(i)
                sample = buffer.pop(i)
                yielded += 1
                if self.snapshot_every and yielded % self.snapshot_every == 0 and worker is None:
                    self._snapshot(yielded, rng, counter, keys)
                yield sample
            if draw_p is None:
                task = self.tasks[int(rng.integers(len(self.tasks)))]
            else:
                task = self.tasks[int(rng.choice(len(self.tasks), p=draw_p))]
            if self.randomise is None:
                perturbation = self.perturbations[int(rng.integers(len(self.perturbations)))]
            seed = SEED_BASE + (stream << 24) + counter  # unique per stream for 16M episodes
            counter += 1
            if self.randomise is not None:  # its own generator: the stream's draws stay as they were
                perturbation = self.randomise.draw(np.random.default_rng([self.seed, seed, 0x4A9D]))
            samples = self.episode(task, perturbation, seed)
            buffer.extend(samples)
            keys.extend((task, perturbation, seed, i) for i in range(len(samples)))

    # Resume. An episode is a function of (task, perturbation, seed), so a state names its buffered
    # samples by those and the step, and restoring renders those episodes again.
    def _snapshot(self, yielded: int, rng: np.random.Generator, counter: int, keys: list) -> None:
        self._snapshots[yielded] = {
            "rng": rng.bit_generator.state,
            "counter": counter,
            "yielded": yielded,
            "keys": [list(k) for k in keys],
        }
        for old in [n for n in self._snapshots if n <= yielded - 8 * self.snapshot_every]:
            del self._snapshots[old]  # the DataLoader runs at most a batch or two ahead of training

    def _rebuild(self, keys: list[tuple[str, str, int, int]]) -> list[dict[str, torch.Tensor]]:
        episodes: dict[tuple[str, str, int], list[dict[str, torch.Tensor]]] = {}
        for task, perturbation, seed, _ in keys:
            if (task, perturbation, seed) not in episodes:
                episodes[task, perturbation, seed] = self.episode(task, perturbation, seed)
        return [episodes[task, perturbation, seed][i] for task, perturbation, seed, i in keys]

    def state_at(self, yielded: int) -> dict[str, Any] | None:
        """The iterator's state once it had yielded ``yielded`` samples (plain numbers, strings and
        lists), or None when not kept (0 samples; ``snapshot_every`` off; DataLoader workers)."""
        return self._snapshots.get(yielded)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """The next ``iter()`` (in this process) continues from ``state``, a ``state_at`` result."""
        self._resume = state


def task_probabilities(
    weights: Sequence[float], tasks: Sequence[str], name: str = "ExpertStream: task_weights"
) -> np.ndarray:
    """Draw probabilities from one finite weight >= 0 per task, not all 0; else a ValueError naming
    ``name``."""
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(tasks),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(
            f"{name}: {list(weights)} must be one finite weight >= 0 per task "
            f"({len(tasks)}: {list(tasks)}), not all 0"
        )
    return w / w.sum()


def _translate_episode(
    screens: list[np.ndarray],
    actions: list[Action],
    elements: list[Any],
    shift: float,
    rng: np.random.Generator,
    width: float,
    height: float,
) -> tuple[list[np.ndarray], list[Action], list[Any]]:
    """The episode moved by a random whole-pixel offset of up to ``shift`` of the screen per axis.

    Actions and element boxes are in logical pixels of a ``width`` x ``height`` screen; the screens
    may have more pixels (HiDPI): they move by the same distance in their own pixels. Every pointer
    position stays on screen, and so does every element the screens show (as ``_kept_boxes`` picks
    them): keeping only the clicks there once slid TickCheckboxes' tick marks off the left edge (the
    expert clicks a box on its label), so the same screen was labelled "tick it" and "commit"."""
    pointed = [a for a in actions if a.kind in POINTER_KINDS]
    boxes = [b for es in elements if es is not None for b in _kept_boxes(es, width, height)]
    offset = []
    for axis, (size, coords) in enumerate(((width, ("x", "x2")), (height, ("y", "y2")))):
        points = [getattr(a, c) for a in pointed for c in coords[: 1 + (a.kind == "drag")]]
        lo, hi = -shift * size, shift * size
        if points:  # every pointer position stays on screen
            lo, hi = max(lo, -min(points)), min(hi, size - 1 - max(points))
        if boxes:  # and every element it showed
            lo, hi = max(lo, -min(b[axis] for b in boxes)), min(hi, size - max(b[axis + 2] for b in boxes))
        first, last = int(np.ceil(lo)), int(np.floor(hi))
        offset.append(int(rng.integers(first, last + 1)) if first <= last else 0)
    dx, dy = offset
    h, w = screens[0].shape[:2]
    px, py = round(dx * w / width), round(dy * h / height)  # the offset in screen pixels
    fill = rng.integers(0, 256, 3, dtype=np.uint8)
    moved = []
    for screen in screens:
        out = np.empty_like(screen[..., :3])
        out[:] = fill
        out[max(py, 0) : h + min(py, 0), max(px, 0) : w + min(px, 0)] = screen[
            max(-py, 0) : h - max(py, 0), max(-px, 0) : w - max(px, 0), :3
        ]
        moved.append(out)

    def box(b):
        return None if b is None else (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy)

    def move(a: Action) -> Action:
        if a.kind not in POINTER_KINDS:
            return a
        end = {"x2": a.x2 + dx, "y2": a.y2 + dy} if a.kind == "drag" else {}  # only a drag has an end point
        return replace(a, x=a.x + dx, y=a.y + dy, target=box(a.target), **end)

    elements = [None if es is None else [move_boxes(e, box) for e in es] for es in elements]
    return moved, [move(a) for a in actions], elements


def _kept_boxes(elements: list[dict[str, Any]], width: float, height: float) -> list[tuple[float, ...]]:
    """The boxes of ``elements`` a shift or a warp must keep on screen, clipped to the screen: every
    element but the window and bars or panels spanning most of the screen (a banner's, a text area's
    cut edge hides nothing one acts on; keeping them would pin the shift to 0)."""
    out = []
    for e in elements:
        x0, y0, x1, y1 = e["bbox"]
        if e["role"] == "window" or x1 - x0 > 0.75 * width or y1 - y0 > 0.75 * height:
            continue
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 > x0 and y1 > y0:  # something of it shows
            out.append((x0, y0, x1, y1))
    return out


@dataclass(frozen=True)
class Randomise:
    """Each episode's perturbation drawn at random: nominal with probability ``nominal``, else one of
    ``families`` (two distinct ones with probability ``compose``), each at a severity uniform in
    ``severity`` = (lo, hi), rounded to 0.01 so that the spec string names the episode exactly."""

    families: tuple[str, ...]
    severity: tuple[float, float] = (0.25, 1.0)
    nominal: float = 0.2
    compose: float = 0.25

    def __post_init__(self) -> None:
        from act.envs.perturbations import FAMILIES

        families = tuple(str(f) for f in self.families)
        object.__setattr__(self, "families", families)
        object.__setattr__(self, "severity", tuple(float(v) for v in self.severity))
        if not families:
            raise ValueError("randomise.families: names no family")
        unknown = [f for f in families if f not in FAMILIES]
        if unknown or len(set(families)) < len(families):
            raise ValueError(
                f"randomise.families: {list(families)} must name distinct families of {', '.join(FAMILIES)}"
            )
        lo_hi = self.severity
        if len(lo_hi) != 2 or not all(np.isfinite(lo_hi)) or not 0.0 <= lo_hi[0] <= lo_hi[1] <= 1.0:
            raise ValueError(f"randomise.severity: {list(lo_hi)} must be [lo, hi] with 0 <= lo <= hi <= 1")
        for name in ("nominal", "compose"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"randomise.{name}: {v} is not a probability in [0, 1]")
        if self.compose > 0 and len(families) < 2:
            raise ValueError(f"randomise.compose: {self.compose} composes two families, but only {families}")

    @classmethod
    def of(cls, value: Any) -> Randomise | None:
        """A ``Randomise`` from one, from anything with its fields (a config section), or None when
        ``value`` is None or names no family (off)."""
        if value is None or isinstance(value, cls):
            return value
        if not list(value.families):
            return None
        return cls(tuple(value.families), tuple(value.severity), float(value.nominal), float(value.compose))

    def draw(self, rng: np.random.Generator) -> str:
        """A perturbation spec ("" nominal; families in name order, so equal draws share an env)."""
        from act.envs.perturbations import format_spec

        if rng.random() < self.nominal:
            return ""
        two = len(self.families) >= 2 and rng.random() < self.compose
        names = sorted(
            self.families[int(i)] for i in rng.choice(len(self.families), 2 if two else 1, replace=False)
        )
        lo, hi = self.severity
        return format_spec([(n, round(float(rng.uniform(lo, hi)), 2)) for n in names])
