"""Reading supervision from recordings' element snapshots (format 1.1): the built dataset keeps the
snapshot in force at each step, and ChunkDataset turns it into the word each cell of a policy's grid
shows, as the online stream does from synthui's scene."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from act.data import build_dataset
from act.data.build import DatasetError
from act.data.chunks import IGNORE_CELL, ChunkDataset
from act.data.reading import cell_words, move_boxes
from act.recording import EpisodeMeta, EpisodeWriter, Event, Screen
from act.recording.schema import ElementSnapshot
from act.spaces.vocab import Vocabulary

CELLS = (6, 8, 8)  # rows, cols, stride over a 48 x 64 frame


def write_episode(path, box=None, episode_id="e1", snapshot_t=0.0):
    """Two clicks (at 0.1 s and 1.1 s), an OK button's snapshot from ``snapshot_t`` when ``box``."""
    w = EpisodeWriter(path, EpisodeMeta(episode_id, "desktop", "T", "press OK then Cancel", Screen(128, 96)))
    for t in (0.0, 1.0):
        w.add_frame(np.zeros((96, 128, 3), np.uint8), t)
        w.add_event(Event(t=t + 0.1, type="mouse_down", x=10, y=10, button="left"))
        w.add_event(Event(t=t + 0.2, type="mouse_up", x=10, y=10, button="left"))
    if box is not None:
        window = {"id": "w", "role": "window", "label": "App", "box": [0, 0, 128, 96]}
        ok = {"id": "ok", "role": "button", "label": "OK", "box": box}
        w.add_elements(ElementSnapshot(snapshot_t, (window, ok), None))
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


def test_cell_words_paint_a_name_where_it_is_drawn_when_the_element_says():
    """A list row's name fills its left part: the words go over ``text_bbox``, the rest of the row reads
    blank; ``text_bbox`` None (a text field's name is not drawn) paints nothing."""
    words = Vocabulary.build(["plan", "20", "pdf", "user"])
    elements = [
        {
            "role": "listitem",
            "name": "plan_20.pdf",
            "bbox": (0.0, 0.0, 1.0, 0.25),
            "text_bbox": (0, 0, 0.5, 0.25),
        },
        {"role": "textbox", "name": "user", "bbox": (0.0, 0.5, 1.0, 0.75), "text_bbox": None},
    ]
    grid = cell_words(elements, 1.0, 1.0, CELLS, (48, 64), words).reshape(6, 8)
    # "plan" + 1, "20" + 1, "pdf" + 1 characters share the text box's 32 px: 13, 8 and 11 px
    assert list(grid[0, :4]) == [words.id(w) for w in ("plan", "plan", "20", "pdf")]
    assert (grid[:, 4:] == 0).all() and (grid[2:] == 0).all()
    # without a text box the same name spreads over the whole row, as recordings' elements do
    del elements[0]["text_bbox"]
    spread = cell_words(elements, 1.0, 1.0, CELLS, (48, 64), words).reshape(6, 8)
    assert spread[0, 7] == words.id("pdf")


def test_a_shift_moves_the_text_box_with_the_element():
    def shift(b):
        return (b[0] + 5, b[1] + 1, b[2] + 5, b[3] + 1)

    row = {"role": "listitem", "name": "a", "bbox": (0, 0, 50, 10), "text_bbox": (2, 0, 12, 10)}
    assert move_boxes(row, shift) == {**row, "bbox": (5, 1, 55, 11), "text_bbox": (7, 1, 17, 11)}
    field = {"role": "textbox", "name": "", "bbox": (0, 0, 50, 10), "text_bbox": None}
    assert move_boxes(field, shift)["text_bbox"] is None
    assert "text_bbox" not in move_boxes({"role": "button", "name": "OK", "bbox": (0, 0, 5, 5)}, shift)


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
    # only the target asked for is computed, and it is the same as when both are
    spans = ChunkDataset(ds, chunk_size=2, cells=CELLS, read_targets="cell_spans")[0]
    assert "cell_words" not in spans and torch.equal(spans["cell_spans"], sample["cell_spans"])
    with pytest.raises(ValueError, match=r"ChunkDataset: read_targets \['cell_letters'\]"):
        ChunkDataset(ds, chunk_size=2, cells=CELLS, read_targets=("cell_letters",))


def test_recordings_without_snapshots_build_as_before(tmp_path):
    recs = tmp_path / "recs"
    write_episode(recs / "a")
    ds = build_dataset(recs, tmp_path / "ds", image_size=(48, 64))
    sample = ChunkDataset(ds, chunk_size=2, cells=CELLS)[0]
    assert "cell_words" not in sample and sample["kind"].shape == (2,)


def test_a_step_without_a_snapshot_has_no_reading_targets_rather_than_blank_cells(tmp_path):
    recs = tmp_path / "recs"
    write_episode(recs / "a", box=[64, 48, 128, 96], snapshot_t=0.5)  # in force from the 2nd step
    write_episode(recs / "b", episode_id="e2")  # an episode with no snapshots at all
    ds = build_dataset(recs, tmp_path / "ds", image_size=(48, 64))
    data = ChunkDataset(ds, chunk_size=1, cells=CELLS)
    by_episode = {}
    for i in range(len(data)):
        s = data[i]
        by_episode.setdefault(int(s["episode_index"]), []).append(s["cell_words"])
    first, second = by_episode[0]
    assert (first == IGNORE_CELL).all()  # before the snapshot: unknown, ignored by the loss
    assert (second.view(6, 8)[3:, 4:] > 0).all() and (second.view(6, 8)[:3] == 0).all()
    assert all((w == IGNORE_CELL).all() for w in by_episode[1])


def test_element_snapshots_are_part_of_the_dataset_fingerprint(tmp_path):
    recs = tmp_path / "recs"
    write_episode(recs / "a")
    before = build_dataset(recs, tmp_path / "ds", image_size=(48, 64))
    assert "elements" not in before.inputs
    write_episode(recs / "b", box=[0, 0, 64, 48], episode_id="e2")
    (recs / "b" / "elements.jsonl").unlink()  # the same episodes, then with snapshots added:
    again = build_dataset(recs, tmp_path / "ds2", image_size=(48, 64))
    assert again.fingerprint != before.fingerprint and "elements" not in again.inputs
    write_episode(recs / "c", box=[0, 0, 64, 48], episode_id="e3")
    with_snapshots = build_dataset(recs, tmp_path / "ds3", image_size=(48, 64))
    assert with_snapshots.inputs["elements"] is True
    # a dataset built before the recordings had snapshots is not reused for them: the error says why
    with pytest.raises(DatasetError, match="element snapshots"):
        build_dataset(recs, tmp_path / "ds2", image_size=(48, 64))
