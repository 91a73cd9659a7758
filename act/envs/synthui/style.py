"""Look of the simulated desktop: palette, size metrics and cached text rendering.

Text comes from the DejaVu Sans font that matplotlib ships, so nothing depends on system fonts.
Each distinct (text, size, bold) is rasterised once into an 8-bit mask and cached: drawing a label
is then one ``ImageDraw.bitmap`` call (a few microseconds instead of ~70).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, fields, replace

import numpy as np
from PIL import Image, ImageDraw

from act.spaces.spans import font, font_dir  # noqa: F401  (one place for the UI font)

RGB = tuple[int, int, int]
BASE_FONT_PX = 10  # DejaVu Sans at 10 px: capitals 7 px tall, legible to a small convnet at 160 x 120


@dataclass(frozen=True)
class Palette:
    """Every colour the renderer uses; themes transform all of them together."""

    desktop: RGB = (58, 110, 165)
    window: RGB = (236, 236, 236)
    text: RGB = (20, 20, 20)
    muted: RGB = (120, 120, 120)
    title: RGB = (52, 101, 164)
    title_text: RGB = (255, 255, 255)
    bar: RGB = (246, 246, 246)
    border: RGB = (150, 150, 150)
    button: RGB = (222, 222, 222)
    field: RGB = (255, 255, 255)
    accent: RGB = (38, 110, 200)
    accent_text: RGB = (255, 255, 255)
    banner: RGB = (255, 240, 190)
    banner_text: RGB = (90, 70, 10)
    sidebar: RGB = (214, 221, 230)
    shadow: RGB = (90, 90, 90)

    def transformed(self, hue: float = 0.0, saturation: float = 1.0, invert: bool = False) -> Palette:
        """All colours rotated in hue (turns), scaled in saturation, lightness inverted for dark mode."""
        out = {}
        for f in fields(self):
            r, g, b = (c / 255.0 for c in getattr(self, f.name))
            h, lum, s = colorsys.rgb_to_hls(r, g, b)
            h = (h + hue) % 1.0
            s = min(1.0, s * saturation)
            if invert:
                lum = 1.0 - lum
            out[f.name] = tuple(int(round(c * 255)) for c in colorsys.hls_to_rgb(h, lum, s))
        return replace(self, **out)


class Metrics:
    """Sizes in screen pixels at a UI scale factor (1.0 = the nominal look)."""

    def __init__(self, scale: float = 1.0):
        self.scale = scale
        px = self.px
        self.font = px(BASE_FONT_PX)
        self.title_h = px(12)
        self.menubar_h = px(12)
        self.toolbar_h = px(14)
        self.row_h = px(14)  # buttons, text fields, tabs, sliders
        self.label_h = px(13)  # labels, checkboxes, radios
        self.item_h = px(12)  # menu items and list rows
        self.box = px(9)  # checkbox and radio marker
        self.icon = px(12)
        self.pad = px(4)  # inside buttons and fields
        self.gap_x = px(4)
        self.gap_y = px(3)
        self.margin = px(4)
        self.content_w = px(116)  # content keeps to this width, leaving room for layout shifts
        self.dialog_title_h = px(12)

    def px(self, v: float) -> int:
        return int(round(v * self.scale))


_MASKS: dict[tuple[str, int, bool], Image.Image] = {}
_GLYPHS: dict[tuple[str, int, bool], tuple[np.ndarray, float]] = {}
_PAD = 2  # room for glyphs that overhang their advance box


def _glyph(ch: str, size: int, bold: bool) -> tuple[np.ndarray, float]:
    """One character's coverage (line-box tall, drawn _PAD px from the left) and its advance; cached."""
    key = (ch, size, bold)
    g = _GLYPHS.get(key)
    if g is None:
        f = font(size, bold)
        ascent, descent = f.getmetrics()
        advance = f.getlength(ch)
        im = Image.new("L", (int(advance) + 2 * _PAD + 2, ascent + descent))
        ImageDraw.Draw(im).text((_PAD, 0), ch, font=f, fill=255)
        g = _GLYPHS[key] = (np.asarray(im), advance)
    return g


def text_width(text: str, size: int, bold: bool = False) -> int:
    return text_mask(text, size, bold).width


def text_mask(text: str, size: int, bold: bool = False) -> Image.Image:
    """The 8-bit coverage mask of ``text`` on a line box (ascent + descent tall); cached.

    Strings are assembled from cached glyphs at their advances (no kerning), which makes a new
    string (a typed prefix, a file name) cost tens of microseconds instead of a text-layout call.
    """
    key = (text, size, bold)
    mask = _MASKS.get(key)
    if mask is None:
        glyphs = [_glyph(ch, size, bold) for ch in text]
        total = sum(adv for _, adv in glyphs)
        height = glyphs[0][0].shape[0] if glyphs else sum(font(size, bold).getmetrics())
        width = max(1, int(total + 0.999))
        canvas = np.zeros(
            (height, width + 2 * _PAD + 2 + max((g.shape[1] for g, _ in glyphs), default=0)), np.uint8
        )
        x = 0.0
        for g, adv in glyphs:
            xi = int(round(x))
            region = canvas[:, xi : xi + g.shape[1]]
            np.maximum(region, g, out=region)
            x += adv
        mask = Image.fromarray(np.ascontiguousarray(canvas[:, _PAD : _PAD + width]))
        if len(_MASKS) > 8192:
            _MASKS.clear()
        _MASKS[key] = mask
    return mask
