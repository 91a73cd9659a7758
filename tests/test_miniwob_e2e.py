"""MiniWoB++ end to end: expert demonstrations -> dataset -> tiny ACT policy -> closed-loop episodes in
Chromium; and a browser that dies mid-evaluation is recorded as that episode's error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import act
from act.envs import miniwob
from tests.conftest import train_tiny

pytestmark = [pytest.mark.miniwob]
REASON = miniwob.available()
needs_browser = pytest.mark.skipif(REASON is not None, reason=f"MiniWoB++ cannot run here: {REASON}")
CONFIGS = str(Path(act.__file__).parent / "configs")
TASKS = ["click-dialog", "focus-text"]


def _rollout():
    return pytest.importorskip("act.eval.rollout", reason="act.eval.rollout is not there yet")


@needs_browser
@pytest.mark.slow
def test_generate_build_train_and_roll_out(tmp_path):
    from act.data import DatasetInfo, build_dataset
    from act.envs.miniwob.generate import generate
    from act.policy import ACTPolicy

    recs, ds, out = tmp_path / "recs", tmp_path / "dataset", tmp_path / "out"
    report = generate(TASKS, episodes=6, out_dir=recs, progress=False)
    assert all(s["episodes"] == 6 for s in report["tasks"].values())
    build_dataset(recs, ds, image_size=(60, 80))  # policy=tiny's image size
    info = DatasetInfo.load(ds)
    assert "close the dialog" in info.intent_vocab and "focus the text field" in info.intent_vocab

    metrics, policy_dir = train_tiny(recs, ds, tmp_path, out)
    assert np.isfinite(metrics["train/loss"])

    policy = ACTPolicy.from_pretrained(policy_dir, device="cpu")
    result = _rollout().rollout(
        policy,
        "act-miniwob/focus-text-v0",
        seeds=[1000, 1001],
        perturbation="theme:0.5",
        max_steps=4,
        num_workers=1,
    )
    assert result.n == 2 and result.errors == 0, [e.error for e in result.episodes]
    assert all(1 <= e.steps <= 4 for e in result.episodes)
    print(
        "tiny policy on focus-text (theme:0.5):", [(e.success, e.steps, e.actions) for e in result.episodes]
    )


class _KillsBrowser:
    """Clicks the instruction bar (no effect); at its second step it kills the env's browser first."""

    def __init__(self):
        self.env = None
        self.steps = 0

    def bind(self, env) -> None:
        self.env = env

    def reset(self) -> None:
        self.steps = 0

    def select_action(self, obs):
        self.steps += 1
        if self.steps == 2 and self.env is not None:
            self.env.unwrapped.browser.kill_processes()
        return {"kind": 2, "point": np.array([0.5, 0.1], np.float32)}  # the instruction bar: no effect


@needs_browser
def test_dead_browser_is_recorded_as_the_episodes_error_and_evaluation_goes_on():
    rollout = _rollout()
    result = rollout.rollout(_KillsBrowser(), "act-miniwob/focus-text-v0", seeds=[1, 2], max_steps=3)
    first, second = result.episodes
    assert first.error and first.error.startswith("BrowserError") and not first.success
    # The policy kills every episode's browser, but the second episode ran in a new one until then.
    assert second.error is not None and second.error.startswith("BrowserError") and second.steps == 1


@needs_browser
def test_recorded_demonstrations_carry_the_doms_text_for_reading_supervision(tmp_path):
    """elements.jsonl beside the frames: the DOM's visible text elements (a paragraph's text box where
    its text is drawn), so a built dataset has reading targets: the cells of the button the
    instruction names read as that instruction span."""
    from act.data import build_dataset
    from act.data.chunks import ChunkDataset
    from act.envs.miniwob.generate import generate
    from act.recording import read_episode

    recs = tmp_path / "recs"
    generate(["click-button"], episodes=2, out_dir=recs, progress=False)
    episodes = sorted(recs.glob("click-button/ep_*"))
    ep = read_episode(episodes[0])
    first = ep.elements_at(0.0)
    assert first is not None and first.elements
    named = ep.meta.instruction.split('"')[1]  # Click on the "Ok" button.
    buttons = [e for e in first.elements if e["role"] == "button" and e["label"] == named]
    assert buttons  # (a page may show two buttons of that label)
    texts = [e for e in first.elements if e["role"] == "text"]
    assert texts and all(e["box"][0] <= e["text_box"][0] <= e["text_box"][2] <= e["box"][2] for e in texts)
    build_dataset(recs, tmp_path / "ds", image_size=(210, 160))
    cells = (210 // 8, 160 // 8, 8)  # rows, cols, stride
    sample = ChunkDataset(tmp_path / "ds", chunk_size=1, cells=cells)[0]
    x0, y0, x1, y1 = buttons[0]["box"]
    cx, cy = int((x0 + x1) / 2) // 8, int((y0 + y1) / 2) // 8
    assert sample["cell_spans"].view(cells[0], cells[1])[cy, cx] > 0  # an instruction span, not blank
