"""The one place frames are resized, so datasets and live policies see the same pixels."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 (H, W, 3) -> uint8 (size[0], size[1], 3); box filter when shrinking, bilinear otherwise."""
    h, w = size
    if frame.shape[:2] == (h, w):
        return np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
    im = Image.fromarray(np.ascontiguousarray(frame[..., :3], dtype=np.uint8))
    shrink = h < frame.shape[0] or w < frame.shape[1]
    return np.asarray(im.resize((w, h), Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR))
