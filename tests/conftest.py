"""Shared fixtures: tiny recordings written through the public writer, and a tiny training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from act.recording import EpisodeMeta, EpisodeWriter, Event, Intent, Screen


def write_episode(
    path: Path,
    steps: int = 5,
    seed: int = 0,
    instruction: str = "Click the OK button",
    typed: str = "ok",
    screen: Screen | None = None,
) -> Path:
    """An episode of ``steps`` clicks (one frame before each) followed by typed text."""
    rng = np.random.default_rng(seed)
    screen = screen or Screen(160, 120)
    meta = EpisodeMeta(f"ep-{seed}", "synthui", "ClickButton", instruction, screen)
    with EpisodeWriter(path, meta) as w:
        for s in range(steps):
            w.add_frame(rng.integers(0, 255, (screen.height, screen.width, 3), dtype=np.uint8), t=float(s))
            w.add_event(
                Event(t=s + 0.5, type="click", x=float(10 + 7 * s + seed), y=float(20 + s), intent="press ok")
            )
        w.add_intent(Intent(0.0, steps, "press ok"))
        if typed:
            w.add_frame(np.zeros((screen.height, screen.width, 3), np.uint8), t=float(steps))
            w.add_event(Event(t=steps + 0.1, type="type", text=typed, intent="type the name"))
        w.finish(success=True)
    return path


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    root = tmp_path / "recordings"
    for i in range(4):
        write_episode(root / f"ep_{i:03d}", steps=3 + i, seed=i)
    return root


def train_tiny(recordings: Path, dataset: Path, tmp_path: Path, out: Path) -> tuple[dict, Path]:
    """act-train's path on ``recordings`` (built into ``dataset``): policy=tiny, debug=limit (20
    steps), no closed-loop validation; returns the metrics and the exported policy directory."""
    from hydra import compose, initialize_config_dir

    import act
    from act.training import register_configs, train

    register_configs()
    with initialize_config_dir(config_dir=str(Path(act.__file__).parent / "configs"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "data=sample",
                f"data.recordings={recordings}",
                f"data.dataset_dir={dataset}",
                f"paths.data_dir={tmp_path / 'data'}",
                "policy=tiny",
                "data.batch_size=4",
                "debug=limit",
                "callbacks.closed_loop.episodes=0",
                f"paths.output_dir={out}",
            ],
        )
    metrics, _ = train(cfg)
    return metrics, out / "policies" / "last"
