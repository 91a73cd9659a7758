"""Drawing actions on frames and tiling frames into contact sheets (used by CLIs, eval and notebooks)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from act.recording.schema import Action

KIND_COLOURS = {
    "click": (230, 40, 40),
    "double_click": (240, 140, 0),
    "right_click": (160, 40, 220),
    "drag": (30, 120, 240),
    "scroll": (20, 170, 90),
    "key": (20, 20, 20),
    "wait": (120, 120, 120),
    "noop": (180, 180, 180),
}


@lru_cache(maxsize=4)
def font(size: int = 10) -> ImageFont.FreeTypeFont:
    """DejaVu Sans from matplotlib's data: the same glyphs on every machine, no system fonts."""
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"), size)


def draw_actions(
    frame: np.ndarray,
    actions: Sequence[Action],
    scale: float = 1.0,
    zoom: int = 2,
    caption: str | None = None,
) -> Image.Image:
    """The frame enlarged ``zoom`` times with each action drawn on it.

    ``scale`` maps the actions' logical pixels to the frame's pixels (frame width / screen width).
    """
    im = Image.fromarray(np.asarray(frame, np.uint8)).convert("RGB")
    im = im.resize((im.width * zoom, im.height * zoom), Image.Resampling.NEAREST)
    d = ImageDraw.Draw(im)
    f = scale * zoom
    keys = []
    for i, a in enumerate(actions):
        c = KIND_COLOURS.get(a.kind, (0, 0, 0))
        x, y = a.x * f, a.y * f
        if a.kind in ("click", "double_click", "right_click"):
            r = 5
            shape = d.rectangle if a.kind == "right_click" else d.ellipse
            shape((x - r, y - r, x + r, y + r), outline=c, width=2)
            if a.kind == "double_click":
                d.ellipse((x - r - 3, y - r - 3, x + r + 3, y + r + 3), outline=c, width=1)
            d.text((x + r + 1, y - r - 1), str(i), fill=c, font=font(9))
        elif a.kind == "drag":
            pts = [(px * f, py * f) for px, py in (a.path or ((a.x, a.y), (a.x2, a.y2)))]
            d.line(pts, fill=c, width=2)
            d.ellipse((x - 3, y - 3, x + 3, y + 3), fill=c)
        elif a.kind == "scroll":
            d.line((x, y, x + a.dx * 4 * zoom, y + a.dy * 4 * zoom), fill=c, width=2)
            d.ellipse((x - 3, y - 3, x + 3, y + 3), outline=c)
        elif a.kind == "key":
            keys.append(a.key or "?")
        elif a.kind == "wait":
            keys.append(f"<wait {a.duration:.1f}s>")
    text = " ".join([caption] if caption else []) + (
        " keys: " + "".join(k if len(k) == 1 else f"[{k}]" for k in keys) if keys else ""
    )
    if text.strip():
        d.rectangle((0, im.height - 13, im.width, im.height), fill=(255, 255, 220))
        d.text((2, im.height - 12), text.strip()[:80], fill=(0, 0, 0), font=font(10))
    return im


def contact_sheet(
    tiles: Sequence[Image.Image], columns: int = 6, labels: Sequence[str] | None = None
) -> Image.Image:
    """Tiles in a grid, each with an optional label above it."""
    if not tiles:
        return Image.new("RGB", (64, 16), "white")
    w, h = max(t.width for t in tiles), max(t.height for t in tiles)
    label_h = 14 if labels else 0
    columns = min(columns, len(tiles))
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * (w + 4), rows * (h + 4 + label_h)), "white")
    d = ImageDraw.Draw(sheet)
    for i, t in enumerate(tiles):
        x, y = (i % columns) * (w + 4), (i // columns) * (h + 4 + label_h)
        if labels:
            d.text((x + 2, y), labels[i][: w // 6], fill=(0, 0, 0), font=font(10))
        sheet.paste(t, (x, y + label_h))
    return sheet
