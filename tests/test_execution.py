"""How chunks execute (act.policy.execution): the adaptive rule on hand-made chunks and screens,
ensembling of discrete heads, policy-call counts per strategy, and act-eval's cost figures."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from act.eval import PolicySpec, load_policy, policy_specs_from_config
from act.eval.policies import EvalSetupError, check_policy
from act.eval.rollout import UI_STEP_S, run_episode
from act.policy import ACTConfig, ACTPolicy, ConfigError
from act.policy.execution import (
    AdaptiveExecutor,
    EnsembleExecutor,
    Execution,
    QueueExecutor,
    build_executor,
    changed_share,
    intent_end,
    parse_execution,
    screen_change,
)
from act.spaces.action_space import KIND_ID, ActionSpace
from act.spaces.copy import RESET, TYPES, key_effect

N_KINDS, N_KEYS = len(ActionSpace().kinds), ActionSpace().num_keys
POINTER = [k in ("click", "double_click", "right_click", "drag", "scroll") for k in ActionSpace().kinds]
CLICK, KEY, WAIT, DRAG = KIND_ID["click"], KIND_ID["key"], KIND_ID["wait"], KIND_ID["drag"]
H, W = 120, 160


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(**overrides) -> ACTConfig:
    base = dict(
        image_size=(24, 32),
        convnet_channels=(8, 16),
        convnet_strides=(2, 2),
        dim_model=32,
        n_heads=4,
        dim_feedforward=64,
        n_encoder_layers=1,
        n_vae_encoder_layers=1,
        latent_dim=8,
        chunk_size=4,
        dropout=0.0,
        instruction_vocab=["click", "the", "button"],
        instruction_max_len=4,
    )
    return ACTConfig(**{**base, **overrides})


def chunk(kinds: list[int], points: list[tuple[float, float]] | None = None) -> dict[str, torch.Tensor]:
    """A hand-made plan (1, K, ...): one-hot kinds, key 2, the given points (default the centre)."""
    k = len(kinds)
    points = points or [(0.5, 0.5)] * k
    kind_probs = torch.zeros(1, k, N_KINDS)
    kind_probs[0, torch.arange(k), torch.tensor(kinds)] = 1.0
    key_probs = torch.zeros(1, k, N_KEYS)
    key_probs[..., 2] = 1.0
    return {
        "kind_probs": kind_probs,
        "key_probs": key_probs,
        "point": torch.tensor([points], dtype=torch.float32),
        "point2": torch.tensor([points], dtype=torch.float32),
        "scroll": torch.zeros(1, k, 2),
    }


def model_output(plan: dict[str, torch.Tensor], intent: int = 2) -> dict[str, torch.Tensor]:
    """``plan`` as predict_chunk_batch returns it: with intent_probs (1, 4) naming intent id ``intent``."""
    intent_probs = torch.zeros(1, 4)
    intent_probs[0, intent] = 1.0
    return {**plan, "intent_probs": intent_probs}


def to_action(step: dict[str, np.ndarray]) -> dict:
    kind = int(step["kind_probs"].argmax())
    return {
        "kind": kind,
        "point": step["point"],
        "point2": step["point2"],
        "key": int(step["key_probs"].argmax()) if kind == KEY else 0,
    }


class Planner:
    """Hands out the given chunks in turn, one per model call."""

    def __init__(self, *chunks):
        self.chunks, self.calls = list(chunks), 0

    def __call__(self):
        self.calls += 1
        return self.chunks[min(self.calls, len(self.chunks)) - 1]


def screen(value: int = 0) -> dict:
    return {"screen": np.full((H, W, 3), value, np.uint8)}


def with_patch(x: float, y: float, size: int = 10) -> dict:
    """A blank screen with a white size x size square centred on (x, y), normalised."""
    obs = screen()
    cx, cy = int(x * W), int(y * H)
    obs["screen"][cy - size // 2 : cy + size // 2, cx - size // 2 : cx + size // 2] = 255
    return obs


# ------------------------------------------------------------------------------------------ parsing


def test_parse_execution_and_errors_name_the_field():
    assert parse_execution("replan") == Execution("replan")
    assert parse_execution("chunk:3", chunk_size=4) == Execution("chunk", steps=3)
    assert parse_execution("ensemble:0.01").coeff == 0.01
    assert parse_execution("adaptive:0.05").threshold == 0.05
    local = parse_execution("adaptive:0.05:0.005")
    assert (local.threshold, local.click_change) == (0.05, 0.005) and str(local) == "adaptive:0.05:0.005"
    assert parse_execution("adaptive::0.01") == Execution("adaptive", click_change=0.01)
    assert parse_execution("adaptive").click_change == 0.0
    assert str(parse_execution("adaptive")) == "adaptive" and str(parse_execution("chunk:2")) == "chunk:2"
    for bad, why in [
        ("chunky", "is not one of"),
        ("chunk", "is not one of"),
        ("replan:2", "is not one of"),
        ("chunk:x", "must be an integer"),
        ("chunk:5", r"\[1, chunk_size=4\]"),
        ("chunk:0", r"\[1, chunk_size=4\]"),
        ("ensemble:-1", ">= 0"),
        ("adaptive:nan", ">= 0"),
        ("adaptive:0.02:", "is not one of"),
        ("ensemble:0.1:0.2", "is not one of"),
        ("adaptive:0.02:x", "C in adaptive:T:C must be a number"),
        ("adaptive:0.02:1.5", r"C in adaptive:T:C is a share of the pixels, in \[0, 1\]"),
    ]:
        with pytest.raises(ValueError, match=f"^execution: .*{why}"):
            parse_execution(bad, chunk_size=4)
    with pytest.raises(ValueError, match="^execution: 'chunk:5'"):
        tiny_config(execution="chunk:5")
    with pytest.raises(ValueError, match="^execution: 'adaptive' and temporal_ensemble_coeff"):
        tiny_config(execution="adaptive", temporal_ensemble_coeff=0.1)
    with pytest.raises(ConfigError, match="execution: must be a string"):
        ACTConfig.from_dict({"execution": 3})
    with pytest.raises(ValueError, match="^policy 'a': execution: 'nope'"):
        PolicySpec("a", "act", "somewhere", execution="nope")
    with pytest.raises(ValueError, match="^policy 'a': execution 'replan' and ensemble 0.1"):
        PolicySpec("a", "act", "somewhere", ensemble=0.1, execution="replan")


def test_default_execution_is_the_older_fields():
    assert str(tiny_config().execution) == "None"
    policy = ACTPolicy(tiny_config(n_action_steps=3))
    assert isinstance(policy._executor, QueueExecutor) and policy._executor.steps == 3
    policy = ACTPolicy(tiny_config(temporal_ensemble_coeff=0.2))
    assert isinstance(policy._executor, EnsembleExecutor)
    assert isinstance(ACTPolicy(tiny_config(execution="adaptive"))._executor, AdaptiveExecutor)


# ----------------------------------------------------------------------------------------- adaptive


def test_intent_end_splits_pointer_runs_from_key_runs():
    assert intent_end([CLICK, CLICK, DRAG, CLICK], POINTER, KEY) == 4  # pointer actions only: one intent
    assert intent_end([CLICK, KEY, KEY], POINTER, KEY) == 1  # a key run after a click starts a new one
    assert intent_end([KEY, KEY, WAIT, KEY, CLICK], POINTER, KEY) == 4  # waits belong to either
    assert intent_end([WAIT, KEY, CLICK], POINTER, KEY) == 2


def test_screen_change_is_the_mean_difference_over_the_frame():
    blank, patch = screen()["screen"], with_patch(0.25, 0.25)["screen"]
    assert screen_change(blank, blank) == 0.0
    assert screen_change(blank, patch) == pytest.approx(100 / (H * W))  # 100 white pixels of 120 x 160
    assert screen_change(blank, np.zeros((60, 80, 3), np.uint8)) == 1.0


@pytest.mark.parametrize("effect", ["none", "a tick beside the label", "a new page"])
def test_a_pointer_action_ends_the_chunk_whatever_it_did_to_the_screen(effect):
    """Nothing visible (the UI is late or the click missed), a small mark away from the click (the
    expert ticks a box by clicking its label) or a new page: the next step is planned again."""
    label = (0.40, 0.5)
    plan = Planner(chunk([CLICK] * 4, [label] * 4), chunk([KEY] * 4))
    ex = AdaptiveExecutor(0.02, POINTER, KEY)
    ex.act(screen(), plan, to_action)
    after = {
        "none": screen(),
        "a tick beside the label": with_patch(0.22, 0.5, size=6),
        "a new page": screen(60),
    }
    action = ex.act(after[effect], plan, to_action)
    assert ex.calls == 2 and action["kind"] == KEY  # the second plan's first step
    assert np.array_equal(ex.reference, after[effect]["screen"])


def test_changed_share_counts_pixels_whatever_their_contrast():
    blank = screen()["screen"]
    faint = blank.copy()
    faint[:10, :10, 0] = 1  # 100 pixels, one level apart in one channel
    assert changed_share(blank, faint) == pytest.approx(100 / (H * W))
    assert changed_share(blank, with_patch(0.5, 0.5)["screen"]) == pytest.approx(100 / (H * W))
    assert changed_share(blank, blank) == 0.0 and changed_share(blank, blank[:60]) == 1.0


@pytest.mark.parametrize(
    "effect, goes_on",
    [("none", False), ("a tick beside the label", True), ("a new tab", False)],
)
def test_local_clicks_go_on_only_after_a_small_visible_change(effect, goes_on):
    """adaptive:T:C: a click that changed some pixels but at most C of them (a 6 x 6 tick is 0.19% of
    120 x 160) leaves the planned screen standing, so the chunk's next click runs without a call; a
    click that changed nothing (a miss, a late UI) or a whole region plans again."""
    boxes = [(0.1, 0.3), (0.1, 0.5), (0.1, 0.7), (0.8, 0.9)]
    plan = Planner(chunk([CLICK] * 4, boxes), chunk([KEY] * 4))
    ex = build_executor(parse_execution("adaptive:0.02:0.005"), 4, POINTER, KEY)
    first = ex.act(screen(), plan, to_action)
    assert np.allclose(first["point"], boxes[0])
    after = {
        "none": screen(),
        "a tick beside the label": with_patch(0.22, 0.3, size=6),
        "a new tab": with_patch(0.5, 0.5, size=40),  # 1,600 pixels: 8% of the frame
    }[effect]
    action = ex.act(after, plan, to_action)
    if goes_on:
        assert ex.calls == 1 and action["kind"] == CLICK and np.allclose(action["point"], boxes[1])
        assert np.array_equal(ex.reference, after["screen"])  # later steps compare with the ticked screen
    else:
        assert ex.calls == 2 and action["kind"] == KEY


def test_local_clicks_stop_at_the_end_of_the_pointer_intent_and_named_keys_still_end_the_chunk():
    plan = Planner(chunk([CLICK, CLICK, KEY, KEY]), chunk([KEY] * 4), chunk([CLICK] * 4))
    ex = AdaptiveExecutor(0.02, POINTER, KEY, click_change=0.005)
    ex.act(screen(), plan, to_action)
    tick, two = with_patch(0.2, 0.2, size=4), with_patch(0.2, 0.2, size=4)
    two["screen"][50:54, 30:34] = 255
    assert ex.act(tick, plan, to_action)["kind"] == CLICK and ex.calls == 1  # the second click: no call
    assert ex.act(two, plan, to_action)["kind"] == KEY and ex.calls == 2  # the key run: a new intent
    # key 2 (the hand-made chunks' key) as a named key (enter, tab): it still ends the chunk
    effects = [TYPES] * N_KEYS
    effects[2] = RESET
    named = AdaptiveExecutor(0.02, POINTER, KEY, key_effects=effects, click_change=0.5)
    plan = Planner(chunk([KEY] * 4), chunk([CLICK] * 4))
    named.act(screen(), plan, to_action)
    assert named.act(screen(), plan, to_action)["kind"] == CLICK and named.calls == 2


def test_waits_go_on_while_the_screen_holds_and_stop_when_the_late_screen_arrives():
    plan = Planner(chunk([WAIT, WAIT, WAIT, CLICK]), chunk([CLICK] * 4))
    ex = AdaptiveExecutor(0.02, POINTER, KEY)
    assert ex.act(screen(), plan, to_action)["kind"] == WAIT
    assert ex.act(screen(), plan, to_action)["kind"] == WAIT and ex.calls == 1
    ex.act(with_patch(0.5, 0.5, size=40), plan, to_action)  # the screen the UI was late with
    assert ex.calls == 2


def test_adaptive_stops_when_the_whole_screen_changes_during_a_key_run():
    plan = Planner(chunk([KEY] * 4), chunk([CLICK] * 4))
    ex = AdaptiveExecutor(0.02, POINTER, KEY)
    ex.act(screen(), plan, to_action)
    ex.act(screen(1), plan, to_action)  # a typed character's worth: below the threshold
    assert ex.calls == 1
    action = ex.act(screen(60), plan, to_action)  # a new page
    assert ex.calls == 2 and action["kind"] == CLICK


def test_adaptive_stops_where_the_intent_changes_and_types_a_word_in_one_call():
    plan = Planner(
        chunk([CLICK, KEY, KEY, KEY]),  # click the field, then type: two intents
        chunk([KEY, KEY, KEY, CLICK]),  # type the word, then click Submit
        chunk([CLICK, CLICK, CLICK, CLICK]),
    )
    ex = AdaptiveExecutor(0.02, POINTER, KEY)
    kinds, calls = [], []
    for _ in range(5):  # an unchanging screen: intents and clicks end the chunks
        kinds.append(ex.act(screen(), plan, to_action)["kind"])
        calls.append(ex.calls)
    assert kinds == [CLICK, KEY, KEY, KEY, CLICK]
    assert calls == [1, 2, 2, 2, 3]  # the three keys: one call


def test_adaptive_through_the_policy_plans_again_after_each_click_and_types_in_one_call(monkeypatch):
    policy = ACTPolicy(tiny_config(execution="adaptive", intent_vocab=["click it", "type it"])).eval()
    plan = Planner(chunk([CLICK, KEY, KEY, KEY]), chunk([KEY, KEY, KEY, KEY]))
    monkeypatch.setattr(policy, "predict_chunk_batch", lambda *a: model_output(plan(), intent=3))
    obs = {**screen(), "instruction": "click the button"}
    policy.select_action(obs)
    assert policy.policy_calls == 1
    for _ in range(3):  # after the click a new plan; its key run goes on while the screen holds
        policy.select_action(obs)
    assert policy.policy_calls == 2
    assert policy.stated_intent == "type it"  # the chunk being executed names intent id 3
    policy.reset()
    assert policy.policy_calls == 0 and policy.stated_intent is None


# ----------------------------------------------------------------------------------------- ensemble


def test_ensembling_averages_discrete_heads_as_probabilities(monkeypatch):
    """K = 2, m = ln 2: step 1 averages the first chunk's step 1 (weight 1) and the second chunk's step 0
    (weight 1/2). Kinds: the first says click (.5), the second scroll (.6); the average says key
    ((.4 + .5 * .4) / 1.5 = .4 against click .333, scroll .267): neither chunk's own choice."""
    policy = ACTPolicy(tiny_config(chunk_size=2, execution=f"ensemble:{math.log(2)}")).eval()
    scroll = KIND_ID["scroll"]

    def plan(kinds: list[dict[int, float]], keys: list[dict[int, float]], points) -> dict:
        p = chunk([CLICK, CLICK], points)
        p["kind_probs"].zero_()
        p["key_probs"].zero_()
        for i, (kp, keyp) in enumerate(zip(kinds, keys)):
            for k, v in kp.items():
                p["kind_probs"][0, i, k] = v
            for k, v in keyp.items():
                p["key_probs"][0, i, k] = v
        return p

    first = plan(
        [{CLICK: 1.0}, {CLICK: 0.5, KEY: 0.4, scroll: 0.1}],
        [{2: 1.0}, {2: 0.55, 3: 0.45}],
        [(0.5, 0.5), (0.2, 0.2)],
    )
    second = plan(
        [{KEY: 0.4, scroll: 0.6}, {CLICK: 1.0}],
        [{2: 0.2, 4: 0.8}, {2: 1.0}],
        [(0.8, 0.8), (0.5, 0.5)],
    )
    plans = Planner(first, second)
    monkeypatch.setattr(policy, "predict_chunk_batch", lambda *a: model_output(plans()))
    obs = {**screen(), "instruction": "click"}
    assert policy.select_action(obs)["kind"] == CLICK  # step 0: the first chunk alone
    action = policy.select_action(obs)
    assert action["kind"] == KEY
    # keys: 2 gets (.55 + .5 * .2) / 1.5 = .433, 3 gets .3, 4 gets .267 (the second chunk's choice)
    assert action["key"] == 2
    np.testing.assert_allclose(action["point"], [0.4, 0.4], rtol=1e-6)  # (0.2 + 0.5 * 0.8) / 1.5
    assert policy.policy_calls == 2


# ----------------------------------------------------------------------------------- policy calls


@pytest.mark.parametrize("execution", [None, "replan", "chunk:3", "ensemble:0.1", "adaptive", "adaptive:0"])
def test_policy_calls_add_up_to_the_steps(execution):
    torch.manual_seed(0)
    policy = ACTPolicy(tiny_config(execution=execution)).eval()
    result = run_episode(policy, "synthui/ClickButton-v0", 3, max_steps=9, name="act")
    steps, calls = result.steps, result.policy_calls
    assert result.error is None and steps > 0 and calls is not None
    expected = {
        None: math.ceil(steps / 4),  # chunk:n_action_steps = chunk_size
        "replan": steps,
        "chunk:3": math.ceil(steps / 3),
        "ensemble:0.1": steps,
    }
    if execution in expected:
        assert calls == expected[execution]
    else:
        assert math.ceil(steps / 4) <= calls <= steps
    assert result.ui_time == pytest.approx(steps * UI_STEP_S)
    assert 0 < result.policy_time <= result.wall_time
    again = run_episode(policy, "synthui/ClickButton-v0", 3, max_steps=9, name="act")
    assert again.policy_calls == calls  # reset() starts the count again


def test_baselines_plan_no_chunks():
    result = run_episode(
        load_policy(PolicySpec("random", "random")), "synthui/ClickButton-v0", 1, max_steps=3
    )
    assert result.policy_calls is None and result.steps > 0


# ---------------------------------------------------------------------------------------- act-eval


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory):
    torch.manual_seed(0)
    config = tiny_config(image_size=(60, 80), convnet_channels=(8, 16, 16, 16), convnet_strides=(2, 2, 2, 1))
    path = tmp_path_factory.mktemp("policy") / "tiny"
    ACTPolicy(config).save_pretrained(path)
    return path


def test_specs_and_load_policy_apply_execution(policy_dir):
    specs = policy_specs_from_config(
        {"policy": str(policy_dir), "execution": ["replan", "adaptive"], "baselines": ["random"]}
    )
    assert [(s.name, s.execution) for s in specs] == [
        ("act@replan", "replan"),
        ("act@adaptive", "adaptive"),
        ("random", None),
    ]
    one = policy_specs_from_config({"policy": str(policy_dir), "execution": "chunk:2"})
    assert [(s.name, s.execution) for s in one] == [("act", "chunk:2")]
    with pytest.raises(ValueError, match="^execution: 'chunky'"):
        policy_specs_from_config({"policy": str(policy_dir), "execution": "chunky"})
    with pytest.raises(ValueError, match="^execution: adaptive needs policy=DIR"):
        policy_specs_from_config({"execution": "adaptive", "baselines": ["random"]})
    with pytest.raises(EvalSetupError, match=r"policy 'act': execution: 'chunk:9'.*chunk_size=4"):
        check_policy(PolicySpec("act", "act", str(policy_dir), execution="chunk:9"))
    policy = load_policy(PolicySpec("act", "act", str(policy_dir), execution="adaptive"))
    assert policy.config.execution == "adaptive" and isinstance(policy._executor, AdaptiveExecutor)
    policy = load_policy(PolicySpec("act", "act", str(policy_dir), ensemble=0.1))
    assert isinstance(policy._executor, EnsembleExecutor)


def test_act_eval_writes_policy_calls_per_episode_for_each_strategy(policy_dir, tmp_path):
    strategies = ["replan", "chunk:3", "ensemble:0.1", "adaptive"]
    cmd = [
        sys.executable,
        "-m",
        "act.cli.eval",
        f"policy={policy_dir}",
        f"execution=[{','.join(strategies)}]",
        "suite=nominal",
        "suite.tasks=[ClickButton]",
        "suite.episodes=2",
        "suite.max_steps=8",
        "baselines=[random]",
        "num_workers=1",
        f"hydra.run.dir={tmp_path}",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "calls/ep" in p.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    for s in strategies:
        assert results["policies"][f"act@{s}"]["execution"] == s
    by_policy: dict[str, list[dict]] = {}
    for e in results["episodes"]:
        assert e["error"] is None
        by_policy.setdefault(e["policy"], []).append(e)
    assert sorted(by_policy) == sorted([f"act@{s}" for s in strategies] + ["random"])
    for name, episodes in by_policy.items():
        assert len(episodes) == 2
        for e in episodes:
            steps, calls = e["steps"], e["policy_calls"]
            if name == "random":
                assert calls is None
            elif name in ("act@replan", "act@ensemble:0.1"):
                assert calls == steps
            elif name == "act@chunk:3":
                assert calls == math.ceil(steps / 3)
            else:
                assert math.ceil(steps / 4) <= calls <= steps
            assert e["ui_time"] == pytest.approx(steps * UI_STEP_S)
        nominal = results["summary"][name]["conditions"]["nominal"]
        if name == "random":
            assert nominal["policy_calls_per_episode"] is None and nominal["actions_per_call"] is None
        else:
            calls = [e["policy_calls"] for e in episodes]
            assert nominal["policy_calls_per_episode"] == pytest.approx(sum(calls) / 2)
            assert nominal["actions_per_call"] == pytest.approx(
                sum(e["steps"] for e in episodes) / sum(calls)
            )
        assert nominal["wall_time_per_episode"] == pytest.approx(
            sum(e["wall_time"] + e["ui_time"] for e in episodes) / 2
        )
    report = (tmp_path / "report.md").read_text()
    assert "calls/ep (steps/call, s/ep)" in report


def keyed(kinds: list[int], keys: list[str]) -> dict[str, torch.Tensor]:
    """``chunk(kinds)`` with the given key tokens, one per step."""
    plan = chunk(kinds)
    plan["key_probs"].zero_()
    for i, token in enumerate(keys):
        plan["key_probs"][0, i, ActionSpace().keys.id(token)] = 1.0
    return plan


EFFECTS = [key_effect(t) for t in ActionSpace().keys.tokens]


def test_intent_end_splits_a_run_of_backspaces_from_the_characters_after_it():
    ids = [ActionSpace().keys.id(t) for t in ("backspace", "backspace", "c", "a", "t")]
    assert intent_end([KEY] * 5, POINTER, KEY, ids, EFFECTS) == 2  # clear the field, then type: two
    assert intent_end([KEY] * 5, POINTER, KEY) == 5  # told no keys: one key run, as before
    assert intent_end([KEY] * 3, POINTER, KEY, ids[2:], EFFECTS) == 3  # a word: one intent
    word_enter = [ActionSpace().keys.id(t) for t in ("c", "a", "t", "enter")]
    assert intent_end([KEY] * 4, POINTER, KEY, word_enter, EFFECTS) == 3  # enter: planned on the word


def test_adaptive_plans_again_after_backspaces_and_after_a_named_key_and_types_a_word_in_one_call():
    """A field holding old text: the backspaces planned on it are one intent, and how many more are
    needed is read from the screen after them; enter and tab end the chunk as a click does."""
    plan = Planner(
        keyed([KEY] * 4, ["backspace", "backspace", "s", "c"]),  # clear (a guess at how much), type
        keyed([KEY] * 4, ["s", "c", "o", "o"]),  # the field is clear now: the word
        keyed([KEY] * 4, ["enter", "x", "y", "z"]),
        keyed([KEY] * 4, ["tab", "a", "b", "c"]),
    )
    ex = AdaptiveExecutor(0.02, POINTER, KEY, EFFECTS)
    keys, calls = [], []
    for _ in range(8):  # an unchanging screen: intents and named keys end the chunks
        action = ex.act(screen(), plan, to_action)
        keys.append(ActionSpace().keys.token(action["key"]))
        calls.append(ex.calls)
    assert keys == ["backspace", "backspace", "s", "c", "o", "o", "enter", "tab"]
    assert calls == [1, 1, 2, 2, 2, 2, 3, 4]


def test_intent_end_splits_where_a_copy_leaves_the_span_it_was_typing():
    assert intent_end([KEY] * 4, POINTER, KEY, copied=[10, 11, 12, 13]) == 4  # one span: one intent
    assert intent_end([KEY] * 4, POINTER, KEY, copied=[10, 11, 30, 31]) == 2  # the next span's bytes
    assert intent_end([KEY] * 4, POINTER, KEY, copied=[10, None, 11, 13]) == 4  # keys typed between
    assert intent_end([KEY] * 3, POINTER, KEY, copied=[10, 10, 11]) == 1  # the same byte again


def test_adaptive_plans_again_where_the_planned_copies_jump_to_another_span():
    """A chunk that types "awvw" and runs on into the password's first letter stops at the jump;
    the next call, on the screen after "awvw", plans what comes next (a tab)."""
    first = keyed([KEY] * 5, ["a", "w", "v", "w", "K"])
    first["copy_probs"] = torch.zeros(1, 5, 40)
    for k, byte in enumerate([10, 11, 12, 13, 30]):
        first["copy_probs"][0, k, byte] = 0.9
    plan = Planner(first, keyed([KEY] * 4, ["tab", "K", "x", "y"]))
    ex = AdaptiveExecutor(0.02, POINTER, KEY, EFFECTS)
    keys = [ActionSpace().keys.token(ex.act(screen(), plan, to_action)["key"]) for _ in range(5)]
    assert keys == ["a", "w", "v", "w", "tab"] and ex.calls == 2


def test_adaptive_counts_copies_only_on_key_steps():
    """A wait whose (untrained) key head leans on COPY does not start a span of its own."""
    plan = keyed([WAIT, KEY, KEY, KEY], ["a", "a", "b", "c"])
    plan["copy_probs"] = torch.zeros(1, 4, 20)
    for k, byte in enumerate([10, 10, 11, 12]):
        plan["copy_probs"][0, k, byte] = 0.9
    ex = AdaptiveExecutor(0.02, POINTER, KEY, EFFECTS)
    for _ in range(4):
        ex.act(screen(), Planner(plan), to_action)
    assert ex.calls == 1


def test_the_ensemble_executor_ignores_copy_pointers_of_any_width():
    """copy_probs is as wide as each instruction; the ensembler averages the executed fields only."""
    ex = EnsembleExecutor(0.01, 4)
    for width in (10, 7):
        plan = chunk([KEY] * 4)
        plan["copy_probs"] = torch.zeros(1, 4, width)
        assert ex.act(screen(), Planner(plan), to_action)["kind"] == KEY
