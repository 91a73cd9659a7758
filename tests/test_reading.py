"""Reading supervision from recordings' element snapshots (format 1.1): the built dataset keeps the
snapshot in force at each step, and ChunkDataset turns it into the word each cell of a policy's grid
shows, as the online stream does from synthui's scene."""

from __future__ import annotations

import numpy as np

from act.data import build_dataset
from act.data.chunks import ChunkDataset
from act.data.reading import cell_words
from act.recording import EpisodeMeta, EpisodeWriter, Event, Screen
from act.recording.schema import ElementSnapshot
from act.spaces.vocab import Vocabulary

CELLS = (6, 8, 8)  # rows, cols, stride over a 48 x 64 frame


def write_episode(path, box=None, episode_id="e1"):
    w = EpisodeWriter(path, EpisodeMeta(episode_id, "desktop", "T", "press OK then Cancel", Screen(128, 96)))
    w.add_frame(np.zeros((96, 128, 3), np.uint8), 0.0)
    w.add_event(Event(t=0.1, type="mouse_down", x=10, y=10, button="left"))
    w.add_event(Event(t=0.2, type="mouse_up", x=10, y=10, button="left"))
    if box is not None:
        window = {"id": "w", "role": "window", "label": "App", "box": [0, 0, 128, 96]}
        ok = {"id": "ok", "role": "button", "label": "OK", "box": box}
        w.add_elements(ElementSnapshot(0.0, (window, ok), None))
    w.finish(success=True)
    return path


def test_cell_words_paint_a_label_over_its_box_on_the_grid():
    words = Vocabulary.build(["press", "ok", "cancel"])
    elements = [
        {"role": "window", "name": "App", "bbox": (0, 0, 1, 1)},  # skipped
        {"role": "button", "name": "OK Cancel", "bbox": (0.0, 0.0, 0.5, 0.25)},  # two words, by length
    ]
    grid = cell_words(elements, 1.0, 1.0, CELLS, (48, 64), words).reshape(6, 8)
    ok, cancel = words.id("ok"), words.id("cancel")
    # "ok" + 1 and "cancel" + 1 characters share the box's 32 px: "ok" takes 3/10 (about a cell)
    assert grid[0, 0] == ok and grid[1, 0] == ok
    assert (grid[:2, 2:4] == cancel).all()
    assert (grid[2:] == 0).all() and (grid[:, 4:] == 0).all()


def test_a_dataset_of_recordings_with_snapshots_teaches_reading(tmp_path):
    recs = tmp_path / "recs"
    write_episode(recs / "a", box=[64, 48, 128, 96])  # the bottom-right quarter of the screen
    ds = build_dataset(recs, tmp_path / "ds", image_size=(48, 64))
    sample = ChunkDataset(ds, chunk_size=2, cells=CELLS)[0]
    grid = sample["cell_words"].view(6, 8)
    ok = Vocabulary(ds.instruction_vocab).id("ok")
    assert (grid[3:, 4:] == ok).all() and (grid[:3] == 0).all() and (grid[:, :4] == 0).all()
    # no grid asked for: no reading targets
    assert "cell_words" not in ChunkDataset(ds, chunk_size=2)[0]


def test_recordings_without_snapshots_build_as_before(tmp_path):
    recs = tmp_path / "recs"
    write_episode(recs / "a")
    ds = build_dataset(recs, tmp_path / "ds", image_size=(48, 64))
    sample = ChunkDataset(ds, chunk_size=2, cells=CELLS)[0]
    assert "cell_words" not in sample and sample["kind"].shape == (2,)
