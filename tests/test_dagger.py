"""DAgger (act.training.dagger): the beta schedule, the mixed rollouts' expert labels, the expert's
recovery from a policy's wrong actions, and the whole loop on a tiny config (act-dagger's work)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from act.envs.expert_loop import ExpertSteps
from act.envs.synthui import SynthUIEnv, expert_for
from act.envs.synthui.expert import CANCEL
from act.eval.policies import RandomPolicy
from act.eval.protocol import as_policy, start_episode
from act.recording import find_episodes, read_episode
from act.recording.schema import Action
from act.training import register_configs
from act.training.config import DaggerConfig, TrainConfigError
from act.training.dagger import SUMMARY, beta_schedule, collect, dagger, format_summary, labeller
from tests.test_training import CONFIGS

register_configs()


# ------------------------------------------------------------------------------------ schedule
def test_beta_schedule_starts_at_the_expert_and_decays():
    assert beta_schedule(DaggerConfig(rounds=3)) == [1.0, 0.5, 0.25, 0.125]
    assert beta_schedule(DaggerConfig(rounds=2, beta_decay=0.0)) == [1.0, 0.0, 0.0]
    assert beta_schedule(DaggerConfig(rounds=4, beta_schedule="linear")) == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert beta_schedule(DaggerConfig(rounds=2, betas=[0.3, 0.0])) == [1.0, 0.3, 0.0]


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"rounds": 0}, "dagger.rounds"),
        ({"rounds": 2, "betas": [0.5]}, "dagger.betas"),
        ({"betas": [0.5, 1.5, 0.0]}, "dagger.betas"),
        ({"beta_schedule": "cosine"}, "dagger.beta_schedule"),
        ({"beta_decay": 2.0}, "dagger.beta_decay"),
        ({"episodes_per_task": 0}, "dagger.episodes_per_task"),
        ({"retrain_steps": 0}, "dagger.retrain_steps"),
        ({"tasks": []}, "dagger.tasks"),
    ],
)
def test_bad_dagger_settings_are_refused_naming_the_key(kwargs, key):
    with pytest.raises(TrainConfigError, match=key.replace(".", r"\.")):
        DaggerConfig(**kwargs)


# ------------------------------------------------------------------------------------ recovery
def _click(env, id: str):
    x0, y0, x1, y1 = next(e["bbox"] for e in env.info()["elements"] if e["id"] == id)
    return _step(env, Action("click", (x0 + x1) / 2, (y0 + y1) / 2))


def _step(env, action: Action):
    obs, _, terminated, truncated, info = env.step(env.to_env_action(action))
    assert not (terminated or truncated), "the wrong action itself ended the episode"
    return obs, info


def _type(env, text: str):
    for ch in text:
        out = _step(env, Action("key", key=ch))
    return out


def _ids(env, role: str) -> list[str]:
    return [e["id"] for e in env.info()["elements"] if e["role"] == role]


def wrong_button(env):  # ClickButton under extra_step: a wrong button's commit waits for confirmation
    _click(env, next(b for b in _ids(env, "button") if b.startswith("btn:") and b != env.task.target))
    assert env.info()["modals"][-1]["kind"] == "confirm"
    return "a wrong button"


def wrong_menu(env):
    menu = getattr(env.task, "menu", "menu:File")
    _click(env, next(m for m in _ids(env, "menu") if m != menu))
    assert env.info()["menu"] not in (None, menu)
    return "a wrong menu"


def wrong_text(env):
    field = "search" if env.task_name == "SearchSubmit" else "pass"
    _click(env, field)
    _type(env, "zq")
    assert env.ui.widget(field).state["text"].endswith("zq")
    return "wrong text"


def wrong_box(env):
    t = env.task
    page = env.ui.page
    boxes = [
        k for k, v in t.initial.items() if not v and k not in t.targets and t.tab_of.get(k, page) == page
    ]
    if not boxes:
        return None
    _click(env, boxes[0])
    assert env.ui.widget(boxes[0]).state["checked"]
    tabs = [x for x in _ids(env, "tab") if x != page]
    if tabs:  # and a wrong tab
        _click(env, tabs[0])
    return "a box ticked wrongly"


def wrong_slider(env):
    t = env.task
    others = [k for k in t.initial if k != t.target]
    if not others:
        return None
    s = next(e["state"] for e in env.info()["elements"] if e["id"] == others[0])
    tx0, tx1, yc = s["track"]
    x0, y0, x1, y1 = s["thumb"]
    end = tx1 if s["value"] != s["max"] else tx0
    _step(env, Action("drag", (x0 + x1) / 2, (y0 + y1) / 2, end, yc))
    assert env.ui.widget(others[0]).state["value"] != t.initial[others[0]]
    return "another slider moved"


def wrong_item(env):
    s = env.ui.widget("files").state
    wrong = next(i for i in range(s["top"], s["top"] + s["rows"]) if s["items"][i] != env.task.target)
    _click(env, f"files#{wrong}")
    assert env.ui.widget("files").state["selected"] == wrong
    return "a wrong item selected"


def wrong_format(env):
    t = env.task
    _click(env, "tool:export")
    _click(env, next(r for r in _ids(env, "radio") if r != f"fmt:{t.format}"))
    _click(env, "export:name")
    _type(env, "zz")
    assert not env.ui.widget(f"fmt:{t.format}").state["checked"]
    return "a wrong format and name"


SCENARIOS = [
    ("ClickButton", "extra_step:1.0", wrong_button),
    ("MenuItem", None, wrong_menu),
    ("SearchSubmit", None, wrong_text),
    ("Login", None, wrong_text),
    ("TickCheckboxes", None, wrong_box),
    ("SetSlider", None, wrong_slider),
    ("ScrollOpen", None, wrong_item),
    ("ExportReport", None, wrong_menu),
    ("ExportReport", None, wrong_format),
]


@pytest.mark.parametrize("task, spec, wrong", SCENARIOS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("careful", [True, False], ids=["labeller", "expert"])
def test_the_expert_completes_the_task_after_a_wrong_action(task, spec, wrong, careful):
    env = SynthUIEnv(task, perturbation=spec, headless=True)
    done = 0
    for seed in range(40):
        env.reset(seed=seed)
        if wrong(env) is None:
            continue  # this instance has no room for that mistake (one slider, no spare box)
        expert = labeller(env) if careful else expert_for(env)
        info = env.info()
        intents = []
        while True:
            action = expert.act({}, info)
            intents.append(action.intent)
            _, _, terminated, truncated, info = env.step(env.to_env_action(action))
            if terminated or truncated:
                break
        assert info["success"], (task, seed, wrong.__name__, intents)
        if wrong is wrong_button:
            assert intents[0] == CANCEL  # No to the wrong commit, then the right button
        if wrong is wrong_slider:
            assert "correct the slider" in intents[: intents.index("apply the settings")]
        done += 1
        if done == 4:
            break
    assert done == 4, f"{task}: too few seeds leave room for {wrong.__name__}"


# ------------------------------------------------------------------------------------ collection
def _frames(ep) -> list[np.ndarray]:
    return [ep.frame(i) for i in range(len(ep.frames))]


def _expert_frames(task: str, seed: int, expert) -> list[np.ndarray]:
    env = SynthUIEnv(task)
    run = ExpertSteps(env, seed, expert(env))
    return [obs["screen"] for obs, _, _ in run] + [run.obs["screen"]]


def test_collect_records_the_experts_labels_at_the_states_the_policy_reached(tmp_path):
    """beta 0: the policy acts at every step; each recorded frame is the state its actions led to,
    each recorded action what the expert says there."""
    tasks = ["TickCheckboxes", "MenuItem"]
    got = collect(RandomPolicy(), tasks, [""], 3, tmp_path, beta=0.0, seed=7, max_steps=12, progress=False)
    assert got["episodes"] == 6 and got["policy_steps"] == got["expert_labels"] > 0
    assert sum(s["expert_labels"] for s in got["tasks"].values()) == got["expert_labels"]
    paths = find_episodes(tmp_path)
    assert len(paths) == 6
    off_expert_path = 0
    for path in paths:
        ep = read_episode(path)
        task, seed = ep.meta.task, ep.meta.extra["seed"]
        actions = ep.actions()
        assert ep.meta.extra["dagger"]["executed"] == ["policy"] * len(actions)
        assert ep.meta.extra["dagger"]["beta"] == 0.0 and ep.meta.extra["steps"] == len(actions)
        # replay the same policy in lockstep: the same states, and the expert's labels for them
        env = SynthUIEnv(task, max_steps=12)
        policy = as_policy(RandomPolicy())
        obs, info = start_episode(policy, env, f"synthui/{task}-v0", seed)
        expert = labeller(env)
        for k, recorded in enumerate(actions):
            assert np.array_equal(ep.frame(k), obs["screen"]), (path, k)
            label = expert.act(obs, info)
            assert (recorded.kind, recorded.intent, recorded.key) == (label.kind, label.intent, label.key)
            assert (recorded.x, recorded.y) == pytest.approx((label.x, label.y))
            obs, _, terminated, truncated, info = env.step(policy.select_action(obs))
        assert terminated or truncated
        assert ep.meta.success == info["success"]
        seen = _expert_frames(task, seed, labeller) + _expert_frames(task, seed, expert_for)
        if any(not any(np.array_equal(f, g) for g in seen) for f in _frames(ep)):
            off_expert_path += 1
    assert off_expert_path >= 1  # states no expert-only trajectory of these seeds visits


class _Refuses:
    def reset(self) -> None:
        pass

    def select_action(self, obs):
        raise AssertionError("beta 1 executes the expert's actions: the policy is not asked")


def test_beta_mixes_who_acts(tmp_path):
    got = collect(_Refuses(), ["TickCheckboxes"], [""], 2, tmp_path / "b1", beta=1.0, seed=3, progress=False)
    assert got["policy_steps"] == 0 and got["success_rate"] == 1.0
    got = collect(
        RandomPolicy(), ["TickCheckboxes"], [""], 4, tmp_path / "b5", beta=0.5, seed=3, progress=False
    )
    executed = [
        who
        for p in find_episodes(tmp_path / "b5")
        for who in read_episode(p).meta.extra["dagger"]["executed"]
    ]
    assert len(executed) == got["expert_labels"] and executed.count("policy") == got["policy_steps"]
    assert {"expert", "policy"} <= set(executed)


class _TypesGarbage:
    """Clicks the username field, types the username's first letter, then only wrong letters."""

    needs_info = True

    def reset(self) -> None:
        self.typed = 0

    def bind(self, env) -> None:
        self.env = env

    def select_action(self, obs, info):
        env = self.env.unwrapped
        if info["focus"] != "user":
            x0, y0, x1, y1 = next(e["bbox"] for e in info["elements"] if e["id"] == "user")
            return env.to_env_action(Action("click", (x0 + x1) / 2, (y0 + y1) / 2))
        self.typed += 1
        return env.to_env_action(Action("key", key=env.task.user[0] if self.typed == 1 else "q"))


def test_the_expert_labels_deleting_the_letters_a_policy_typed_wrongly(tmp_path):
    collect(_TypesGarbage(), ["Login"], [""], 1, tmp_path, beta=0.0, seed=3, max_steps=8, progress=False)
    ep = read_episode(find_episodes(tmp_path)[0])
    env = SynthUIEnv("Login", headless=True)
    env.reset(seed=3)
    user = env.task.user
    labels = [(a.key, a.intent) for a in ep.actions()]
    # the policy typed the first letter, then "q"s: the expert's labels type on, then delete them
    assert labels[0] == (None, "click the username field")
    assert labels[1][1] == labels[2][1] == "type the username"
    assert labels[1][0] == user[0] and labels[2][0] == user[1]
    assert labels[3:5] == [("backspace", "fix a typo")] * 2


# ------------------------------------------------------------------------------------ the loop
def _cfg(tmp: Path, *extra: str):
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        return compose(
            "dagger",
            overrides=[
                "data=synthui",
                "data.generate.tasks=[ClickButton,MenuItem]",
                "data.generate.episodes=2",
                "data.generate.num_workers=1",
                "data.batch_size=4",
                "policy=tiny",
                "debug=limit",
                "callbacks.closed_loop.episodes=0",
                "dagger.rounds=2",
                "dagger.episodes_per_task=2",
                "dagger.betas=[0.5,0.0]",
                "dagger.retrain_steps=5",
                f"paths.data_dir={tmp / 'data'}",
                f"paths.output_dir={tmp / 'out'}",
                *extra,
            ],
        )


def test_dagger_rounds_add_expert_labels_and_retrain_on_the_aggregate(tmp_path):
    summary = dagger(_cfg(tmp_path))
    out = tmp_path / "out"
    assert json.loads((out / SUMMARY).read_text()) == summary
    rounds = summary["per_round"]
    assert summary["rounds"] == 2 and [r["round"] for r in rounds] == [0, 1, 2]
    assert summary["betas"] == [1.0, 0.5, 0.0] and [r["beta"] for r in rounds] == [1.0, 0.5, 0.0]
    assert rounds[0]["episodes"] == 4 and rounds[0]["global_step"] == 20
    total = 0
    for r in rounds[1:]:
        eps = [read_episode(p) for p in find_episodes(out / "dagger" / f"round_{r['round']}")]
        labels = sum(len(ep.actions()) for ep in eps)
        assert r["episodes"] == len(eps) == 4 and r["expert_labels"] == labels
        assert r["policy_steps"] == sum(ep.meta.extra["dagger"]["executed"].count("policy") for ep in eps)
        assert r["policy_success"] == sum(bool(ep.meta.success) for ep in eps) / 4
        assert r["global_step"] == 5 and r["train_seconds"] >= 0
        total += labels
        # retrained on the demonstrations and every round so far
        assert r["dataset_episodes"] == 4 + 4 * r["round"]
        assert r["dataset_steps"] == rounds[0]["expert_labels"] + total
        assert (Path(r["policy_dir"]) / "model.safetensors").is_file()
    assert summary["expert_labels"] == total
    assert rounds[2]["policy_steps"] == rounds[2]["expert_labels"]  # beta 0: the policy acted throughout
    assert summary["policy_dir"] == rounds[2]["policy_dir"]
    text = format_summary(summary)
    assert len(text.splitlines()) <= 12 and f"expert labels added: {total}" in text
    # a second run into the same output_dir is refused before any work
    with pytest.raises(TrainConfigError, match="paths.output_dir"):
        dagger(_cfg(tmp_path))


def test_the_dagger_config_composes_with_its_structured_section(tmp_path):
    cfg = _cfg(tmp_path, "dagger.beta_schedule=linear", "dagger.betas=null")
    d = OmegaConf.to_object(cfg.dagger)
    assert isinstance(d, DaggerConfig) and beta_schedule(d) == [1.0, 0.5, 0.0]
    with pytest.raises(Exception, match="roundz"):
        _cfg(tmp_path, "dagger.roundz=2")


def test_act_dagger_refuses_a_bad_setting_before_any_work(tmp_path):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "act.cli.dagger",
            "policy=tiny",
            "data=sample",
            "dagger.betas=[2.0,0,0]",
            f"paths.data_dir={tmp_path / 'data'}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 2 and "dagger.betas" in p.stderr, p.stderr[-2000:]
    assert not (tmp_path / "data").exists()


class _Remembers(RandomPolicy):
    """A random policy that records what MixedEnv tells it ran in its place."""

    def reset(self) -> None:
        super().reset()
        self.told: list[int] = []

    def executed(self, action) -> None:
        self.told.append(int(action["kind"]))


def test_the_policy_is_told_what_the_expert_ran_in_its_place(tmp_path):
    from act.policy import ACTPolicy
    from act.spaces.action_space import KIND_ID
    from tests.test_policy import tiny_config

    policy = _Remembers()
    collect(policy, ["TickCheckboxes"], [""], 1, tmp_path / "m", beta=0.5, seed=3, progress=False)
    (ep,) = find_episodes(tmp_path / "m")
    meta = read_episode(ep).meta
    by_expert = [i for i, who in enumerate(meta.extra["dagger"]["executed"]) if who == "expert"]
    assert by_expert and len(policy.told) == len(by_expert)
    # ACTPolicy's own-action memory (typed count, last kind) follows what ran, not what it proposed
    act = ACTPolicy(tiny_config(prev_action=True))
    act.reset()
    act.select_action({"screen": np.zeros((16, 16, 3), np.uint8), "instruction": "tick a"})
    act.executed({"kind": KIND_ID["key"], "key": act.action_space.keys.id("a")})
    assert (act.typed, act.prev_kind) == (1, KIND_ID["key"] + 1)
