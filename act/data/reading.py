"""Reading supervision: the word each feature cell of a frame shows, from element boxes and labels.

Where a frame comes with its elements (synthui's scene, or a recording's elements.jsonl, format
1.1), training can teach the policy to read: ``cell_words`` paints each element's label words
across its box and says, per cell of the policy's grid, which instruction-vocabulary word covers
it. The policy never needs elements at inference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from act.spaces.spans import OTHER_TEXT, instruction_spans, span_key, span_words
from act.spaces.vocab import MAX_INSTRUCTION_BYTES, Vocabulary, tokenize

READ_TARGETS = ("cell_words", "cell_spans")  # the reading targets a frame can have


def read_target_names(names: str | Iterable[str], who: str) -> tuple[str, ...]:
    """``names`` (one name or several) as a tuple, each checked against READ_TARGETS (``who`` asks)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    if unknown := set(names) - set(READ_TARGETS):
        raise ValueError(f"{who}: read_targets {sorted(unknown)} are not among {READ_TARGETS}")
    return names


def cell_index(rows: int, cols: int, stride: int) -> np.ndarray:
    """(rows * stride, cols * stride): the index of the feature cell each pixel falls in."""
    cell = np.arange(rows * cols).reshape(rows, cols)
    return np.repeat(np.repeat(cell, stride, 0), stride, 1)


def cell_words(
    elements: Iterable[dict[str, Any]],
    width: float,
    height: float,
    cells: tuple[int, int, int],
    image_size: tuple[int, int],
    words: Vocabulary,
    cell_of_pixel: np.ndarray | None = None,
) -> np.ndarray:
    """The word each feature cell shows: (rows * cols,) vocabulary ids, 0 where no word covers a
    quarter of the cell.

    ``elements``: dicts with ``role``, ``name`` (the label) and ``bbox`` (x0, y0, x1, y1) in a
    ``width`` x ``height`` screen; ``cells`` = (rows, cols, stride) of the policy's grid over an
    ``image_size`` (H, W) frame. Names are laid out across their boxes in proportion to word length;
    later elements (menus, dialogs) paint over earlier ones; windows are skipped.
    """

    def split(name: str) -> list[str]:
        return [t for t in tokenize(name) if t.isalnum()]

    return _paint(elements, width, height, cells, image_size, split, words.id, cell_of_pixel)


def cell_spans(
    elements: Iterable[dict[str, Any]],
    width: float,
    height: float,
    cells: tuple[int, int, int],
    image_size: tuple[int, int],
    instruction: str,
    cell_of_pixel: np.ndarray | None = None,
) -> np.ndarray:
    """Which of the instruction's spans (``act.spaces.spans.instruction_spans``) each feature cell
    shows: (rows * cols,) ids, 1 + the span's index, ``OTHER_TEXT`` (-1) where text the instruction
    does not name, 0 where blank. Labels are split into words the same way and laid out as in
    ``cell_words``; a word matches a span when ``span_key`` agrees ("OK" and "ok"), whatever the
    vocabulary, so random and test strings are labelled too. Other text is kept apart from blank so a
    loss can weigh "a label, but not the one sought" on its own (the read loss does)."""
    index: dict[str, int] = {}
    for i, (_, _, word) in enumerate(instruction_spans(instruction, MAX_INSTRUCTION_BYTES)):  # as the policy
        index.setdefault(span_key(word), i + 1)

    def label(word: str) -> int:
        return index.get(span_key(word), OTHER_TEXT)

    return _paint(elements, width, height, cells, image_size, span_words, label, cell_of_pixel)


def cell_targets(
    elements: Iterable[dict[str, Any]],
    width: float,
    height: float,
    cells: tuple[int, int, int],
    image_size: tuple[int, int],
    words: Vocabulary,
    instruction: str,
    cell_of_pixel: np.ndarray | None = None,
    which: Iterable[str] = READ_TARGETS,
) -> dict[str, np.ndarray]:
    """A frame's reading targets, (rows * cols,) each: ``cell_words`` (vocabulary ids) and
    ``cell_spans`` (the instruction's spans), as the online stream and recorded datasets give them;
    ``which`` names the ones to compute (a policy learns from one: ``ACTConfig.read_target``)."""
    elements = list(elements)
    out = {}
    for name in which:
        if name == "cell_words":
            out[name] = cell_words(elements, width, height, cells, image_size, words, cell_of_pixel)
        elif name == "cell_spans":
            out[name] = cell_spans(elements, width, height, cells, image_size, instruction, cell_of_pixel)
        else:
            raise ValueError(f"cell_targets: {name!r} is not one of {READ_TARGETS}")
    return out


def _paint(
    elements: Iterable[dict[str, Any]],
    width: float,
    height: float,
    cells: tuple[int, int, int],
    image_size: tuple[int, int],
    split: Callable[[str], list[str]],
    label: Callable[[str], int],
    cell_of_pixel: np.ndarray | None,
) -> np.ndarray:
    """Each element's name ``split`` into words, laid across its box (``text_bbox``, where the name is
    drawn, if the element has one; else ``bbox``) in proportion to their length, later elements over
    earlier ones; per cell, the ``label`` of the word covering most of it (at
    least a quarter of the cell), else 0."""
    rows, cols, stride = cells
    if cell_of_pixel is None:
        cell_of_pixel = cell_index(rows, cols, stride)
    h, w = image_size
    sx, sy = w / width, h / height
    paint = np.zeros((rows * stride, cols * stride), np.int64)  # 1 + index into `ids`, 0 = none
    ids: list[int] = []  # the labels painted, in order of first appearance (0 too: text over text)
    for e in elements:
        box = e.get("text_bbox", e["bbox"])  # where the name is drawn; None: not drawn at all
        if box is None:
            continue
        x0, y0, x1, y1 = box
        if e["role"] == "window" or (x1 - x0) * (y1 - y0) > 0.5 * width * height:
            continue
        names = split(e.get("name") or "")
        total = sum(len(t) + 1 for t in names)
        x = float(x0)
        for t in names:
            span = (x1 - x0) * (len(t) + 1) / total
            top, left = max(0, int(y0 * sy)), max(0, int(x * sx))  # boxes may start off screen
            bottom, right = max(0, int(np.ceil(y1 * sy))), max(0, int(np.ceil((x + span) * sx)))
            x += span
            if bottom <= top or right <= left:  # wholly off screen
                continue
            word = label(t)
            if word not in ids:
                ids.append(word)
            paint[top:bottom, left:right] = ids.index(word) + 1
    if not ids:
        return np.zeros(rows * cols, np.int64)
    # per cell, the pixels showing each painted word: one bincount over (cell, word) keys
    n = len(ids) + 1
    counts = np.bincount((cell_of_pixel * n + paint).ravel(), minlength=rows * cols * n)
    counts = counts.reshape(rows * cols, n)[:, 1:]  # (cells, words)
    best = counts.argmax(1)
    return np.where(counts.max(1) >= stride * stride / 4, np.array(ids)[best], 0)


def move_boxes(element: dict[str, Any], move: Callable[[Any], Any]) -> dict[str, Any]:
    """``element`` with its ``bbox`` and ``text_bbox`` (where it has one) passed through ``move``."""
    out = {**element, "bbox": move(element["bbox"])}
    if out.get("text_bbox") is not None:
        out["text_bbox"] = move(out["text_bbox"])
    return out


def snapshot_elements(snapshot: Any) -> list[dict[str, Any]]:
    """A recording's element snapshot (``ElementSnapshot``, format 1.1) as ``cell_words`` takes
    elements: role, name, bbox and (where recorded) text_bbox in the recording's pixels. A text
    field whose snapshot says where its value is drawn (``value_box``, format 1.3) adds a "text"
    element naming the value there, so reading targets mark what a field holds (an empty field
    paints nothing: its cells stay blank)."""
    out = []
    for e in snapshot.elements:
        el = {"role": e["role"], "name": e.get("label") or "", "bbox": tuple(e["box"])}
        if "text_box" in e:  # where the label is drawn, when the recorder knew; null: not drawn at all
            el["text_bbox"] = None if e["text_box"] is None else tuple(e["text_box"])
        out.append(el)
        if e.get("value") and e.get("value_box") is not None:
            box = tuple(e["value_box"])
            out.append({"role": "text", "name": e["value"], "bbox": box, "text_bbox": box})
    return out
