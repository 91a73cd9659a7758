"""Instruction spans: the words of an instruction as whole strings ("memo_26.png", "Wi-Fi"), with
their byte ranges, and each drawn as a small image in the UI font.

A policy with ``reading: rendered`` matches screen cells against these images instead of naming
each cell's word from a closed vocabulary, so a label it never saw in training can still be found:
the instruction says what to look for, and the picture of that string is what to look for.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MAX_SPANS = 24  # an instruction's words beyond this many are not looked for
OTHER_TEXT = -1  # a cell's reading target (cell_spans): text that is none of the instruction's spans
SPAN_IMAGE = (16, 96)  # (H, W) of a rendered span: 10 px text, about 15 characters at full width
SPAN_FONT_PX = 10
_EDGE = "\"'“”‘’.,;:!?()[]{}<>"  # stripped from a word's ends: quotes and sentence punctuation
_WORD = re.compile(r"\S+")


def instruction_spans(text: str, max_bytes: int | None = None) -> list[tuple[int, int, str]]:
    """Whitespace-separated words of ``text`` without the quotes and punctuation around them, as
    (first byte, end byte, word) over its UTF-8 bytes: ``'Open "memo_26.png".'`` -> (0, 4, "Open"),
    (6, 17, "memo_26.png"). Words with no letter or digit are skipped; at most ``MAX_SPANS``, and
    none past ``max_bytes``."""
    out = []
    for m in _WORD.finditer(text):
        word = m.group().strip(_EDGE)
        if not any(ch.isalnum() for ch in word):
            continue
        start = m.start() + m.group().index(word)
        first = len(text[:start].encode("utf-8"))
        end = first + len(word.encode("utf-8"))
        if max_bytes is not None and end > max_bytes:
            break
        out.append((first, end, word))
        if len(out) == MAX_SPANS:
            break
    return out


def span_words(text: str) -> list[str]:
    """The words of ``instruction_spans`` (a label's words too): ``'Save as...'`` -> Save, as."""
    return [w for _, _, w in instruction_spans(text)]


def span_key(word: str) -> str:
    """What two spans must share to match: the word, case folded ("OK" on a button, "ok" typed)."""
    return word.casefold()


def font_dir() -> Path:
    """Where the DejaVu fonts are: $ACT_FONT_DIR, else those matplotlib ships (a dependency of act)."""
    if os.environ.get("ACT_FONT_DIR"):
        path = Path(os.environ["ACT_FONT_DIR"])
        if not (path / "DejaVuSans.ttf").is_file():
            raise FileNotFoundError(
                f"ACT_FONT_DIR={path}: no DejaVuSans.ttf there (unset it to use matplotlib's fonts)"
            )
        return path
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(font_dir() / name), size)


@lru_cache(maxsize=8192)
def render_span(word: str) -> np.ndarray:
    """``word`` drawn in the UI font (DejaVu Sans, ``SPAN_FONT_PX``) as ink in [0, 1], float32
    ``SPAN_IMAGE``: left-aligned, vertically centred; a word wider than the image is squeezed to fit."""
    h, w = SPAN_IMAGE
    f = font(SPAN_FONT_PX)
    ascent, descent = f.getmetrics()
    width = max(1, int(f.getlength(word) + 0.999) + 2)
    im = Image.new("L", (width, ascent + descent))
    ImageDraw.Draw(im).text((1, 0), word, font=f, fill=255)
    if width > w:
        im = im.resize((w, im.height), Image.BILINEAR)
    out = np.zeros(SPAN_IMAGE, np.float32)
    ink = np.asarray(im, np.float32)[:h] / 255.0
    top = max(0, (h - ink.shape[0]) // 2)
    out[top : top + ink.shape[0], : ink.shape[1]] = ink[: h - top]
    return out
