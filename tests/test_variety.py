"""Multi-modal demonstrations: the expert's ``variety`` setting (act.envs.synthui.expert).

A varied expert pauses, lets its pointer wander onto empty background, slips more and makes its
once-per-episode choices closer to uniform, and still completes every task; the setting travels
from ``data.generate.variety`` to the recordings (generate.json), the dataset's name and the
online stream.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from act.data import DatasetInfo, build_dataset
from act.envs.expert_loop import ExpertSteps
from act.envs.generate import generate
from act.envs.synthui import Expert, SynthUIEnv, intent_labels
from act.envs.synthui.expert import PAUSE, WANDER
from act.spaces.action_space import KIND_ID
from act.training import ExpertStream
from act.training.config import GenerateConfig
from act.training.train import _generated_name

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def _states(info):
    return {e["id"]: e["state"] for e in info["elements"]}


@pytest.mark.parametrize("task", ["ClickButton", "TickCheckboxes", "Login"])
def test_a_varied_expert_pauses_and_wanders_without_effect_and_still_succeeds(task):
    env = SynthUIEnv(task, headless=True, expert_variety=1.0)
    detours = {PAUSE: 0, WANDER: 0}
    for seed in range(30):
        run = ExpertSteps(env, seed)
        before = None
        for _obs, action, info in run:
            if before is not None:  # the step after a detour starts where the detour found the UI
                assert _states(info) == before[0] and info["focus"] == before[1], (task, seed)
                before = None
            if action.intent in detours:
                detours[action.intent] += 1
                if action.intent == WANDER:
                    assert action.kind == "click" and env.ui.hit(action.x, action.y) is None
                else:
                    assert action.kind == "wait"
                before = (copy.deepcopy(_states(info)), info["focus"])
        assert run.success, (task, seed)
    assert detours[PAUSE] > 0 and detours[WANDER] > 0, detours


def test_without_variety_the_expert_never_pauses_or_wanders():
    for task in ("TickCheckboxes", "Login"):
        env = SynthUIEnv(task, headless=True)
        intents = {a.intent for seed in range(40) for _, a, _ in ExpertSteps(env, seed)}
        assert not intents & {PAUSE, WANDER}
    assert {PAUSE, WANDER} <= set(intent_labels())


def test_variety_draws_once_per_episode_choices_closer_to_uniform():
    """Login types the user name first in 3 of 4 episodes; a fully varied expert in about half."""

    def pass_first(variety: float) -> float:
        env = SynthUIEnv("Login", headless=True)
        expert = Expert(env, variety=variety)
        firsts = []
        for seed in range(1000):
            for _ in ExpertSteps(env, seed, expert):
                pass
            firsts.append(expert.memo["order"][0] == "pass")
        return sum(firsts) / len(firsts)

    assert 0.18 < pass_first(0.0) < 0.32
    assert 0.44 < pass_first(1.0) < 0.56


def test_variety_out_of_range_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match="expert_variety"):
        SynthUIEnv("ClickButton", expert_variety=1.5)
    with pytest.raises(ValueError, match="variety"):
        Expert(SynthUIEnv("ClickButton"), variety=-0.1)
    with pytest.raises(ValueError, match="data.generate.variety"):
        GenerateConfig(variety=2.0)
    with pytest.raises(ValueError, match="synthui only"):
        generate(["click-test"], 1, env="miniwob", variety=0.5, out_dir="/nonexistent")


def test_generated_recordings_record_the_variety_and_its_pauses(tmp_path):
    out = tmp_path / "varied"
    generate(["Login"], 4, out_dir=out, variety=1.0, progress=False)
    report = json.loads((out / "generate.json").read_text())
    assert report["options"]["variety"] == 1.0
    labels = [
        json.loads(line)["label"]
        for ep in sorted((out / "Login").iterdir())
        for line in (ep / "intents.jsonl").read_text().splitlines()
    ]
    assert PAUSE in labels
    plain = tmp_path / "plain"
    generate(["Login"], 1, out_dir=plain, progress=False)
    assert "variety" not in json.loads((plain / "generate.json").read_text())["options"]
    # act-train caches datasets by name: a varied generation never reuses an expert-like one
    assert _generated_name(GenerateConfig(variety=0.5)) != _generated_name(GenerateConfig())


def test_the_online_stream_renders_varied_episodes(tmp_path):
    out = tmp_path / "built"
    build_dataset(SAMPLE, out)
    info = DatasetInfo.load(out)

    def waits(variety: float) -> int:
        stream = ExpertStream(info, ["Login"], chunk_size=3, variety=variety)
        return sum(
            int(s["kind"][0] == KIND_ID["wait"])
            for seed in range(10)
            for s in stream.episode("Login", "", seed)
        )

    assert waits(0.0) == 0 and waits(1.0) > 0
    with pytest.raises(ValueError, match="variety"):
        ExpertStream(info, ["Login"], variety=3.0)
