"""A contact sheet: each task (rows) nominal and under each perturbation family (columns), so a
person can see what the families do."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from act.envs.perturbations import FAMILIES, family
from act.envs.synthui.style import font


def episode_frame(task: str, perturbation: str | None, seed: int, which: str = "first") -> np.ndarray:
    """A frame of the expert's episode: the first, or the last one before the final action."""
    from act.envs.synthui import SynthUIEnv, run_expert

    env = SynthUIEnv(task, perturbation=perturbation)
    frames: list[np.ndarray] = []
    run_expert(env, seed, on_step=lambda obs, info, a: frames.append(obs["screen"]))
    return frames[0] if which == "first" else frames[-1]


def contact_sheet(
    out: str | Path,
    tasks: Sequence[str],
    families: Sequence[str] | None = None,
    severity: float = 1.0,
    seed: int = 0,
    zoom: int = 1,
) -> Path:
    """Write a PNG grid: one row per task, columns nominal then each family at ``severity``."""
    families = list(FAMILIES) if families is None else list(families)
    columns: list[tuple[str, str | None, str]] = [("nominal", None, "first")]
    columns += [(f, f"{f}:{severity:g}", family(f).sheet_frame) for f in families]
    cells = [[episode_frame(t, spec, seed, which) for _, spec, which in columns] for t in tasks]
    h, w = cells[0][0].shape[:2]
    h, w = h * zoom, w * zoom
    label_w, head_h, gap = 96, 16, 4
    sheet = Image.new(
        "RGB", (label_w + len(columns) * (w + gap), head_h + len(tasks) * (h + gap)), (255, 255, 255)
    )
    draw = ImageDraw.Draw(sheet)
    f = font(11)
    for c, (name, _, _) in enumerate(columns):
        draw.text((label_w + c * (w + gap) + 2, 2), name, font=f, fill=(0, 0, 0))
    for r, task in enumerate(tasks):
        y = head_h + r * (h + gap)
        draw.text((4, y + h // 2 - 6), task, font=f, fill=(0, 0, 0))
        for c, frame in enumerate(cells[r]):
            im = Image.fromarray(frame)
            if zoom != 1:
                im = im.resize((w, h), Image.Resampling.NEAREST)
            sheet.paste(im, (label_w + c * (w + gap), y))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
