"""Closed-loop intent checks (act.eval.intents): the stated intent against the careful expert's."""

from __future__ import annotations

from act.envs.expert_loop import ExpertSteps
from act.envs.synthui import SynthUIEnv
from act.envs.synthui.expert import careful_expert
from act.eval.intents import IntentChecker, does, intent_rates
from act.eval.rollout import run_episode
from act.recording.schema import Action


class ExpertWithIntents:
    """A policy that acts as the careful expert and states a fixed intent, or the expert's own."""

    needs_info = True

    def __init__(self, say: str | None = None):
        self.say, self.env, self.expert = say, None, None
        self.stated_intent: str | None = None

    def begin_episode(self, env_id, seed, perturbation):
        pass

    def reset(self):
        self.stated_intent = None

    def bind(self, env):
        self.env, self.expert = env.unwrapped, careful_expert(env)

    def select_action(self, obs, info):
        a = self.expert.act(obs, info)
        self.stated_intent = a.intent if self.say is None else self.say
        return self.env.to_env_action(a)

    def explain(self, obs):
        return None

    @property
    def policy_calls(self):
        return 0


def test_does_compares_kind_target_box_and_key():
    want = Action("click", 10, 10, intent="x", target=(5, 5, 20, 20))
    assert does(Action("click", 19, 6), want)
    assert not does(Action("click", 21, 6), want)  # beside the box
    assert not does(Action("double_click", 10, 10), want)
    assert does(Action("key", key="a"), Action("key", key="a", intent="type"))
    assert not does(Action("key", key="b"), Action("key", key="a", intent="type"))


def test_intent_rates_on_hand_made_checks():
    checks = [["a", "a", True], ["a", "a", False], ["b", "a", None], [None, "c", None]]
    r = intent_rates(checks)
    assert r == {"intent_accuracy": 0.5, "intent_agreement": 0.5, "intent_n": 4}
    assert intent_rates([]) == {"intent_accuracy": None, "intent_agreement": None, "intent_n": 0}


def test_the_expert_stating_its_own_intents_scores_full_marks_and_a_wrong_intent_none():
    right = run_episode(ExpertWithIntents(), "synthui/Login-v0", 3, name="expert")
    assert right.success and len(right.intent_checks) == right.steps  # nominal Login never waits
    assert intent_rates(right.intent_checks) == {
        "intent_accuracy": 1.0,
        "intent_agreement": 1.0,
        "intent_n": right.steps,
    }
    wrong = run_episode(ExpertWithIntents(say="dismiss the pop-up"), "synthui/Login-v0", 3)
    assert intent_rates(wrong.intent_checks)["intent_accuracy"] == 0.0
    first = wrong.to_json()["intent_checks"][0]
    assert first[0] == "dismiss the pop-up" and first[2] is None


def test_a_right_intent_with_a_wrong_action_counts_against_agreement():
    env = SynthUIEnv("ClickButton")
    checker = IntentChecker(env)
    obs, info = env.reset(seed=0)
    want = careful_expert(env).act(obs, info)
    x0, y0, x1, y1 = want.target
    outside = Action("click", x1 + 30 if x1 + 30 < env.width else x0 - 30, (y0 + y1) / 2)
    checker.check(obs, info, env.to_env_action(outside), want.intent)
    assert checker.checks == [[want.intent, want.intent, False]]


def test_policies_that_state_no_intent_are_not_judged():
    class Plain:
        def reset(self):
            pass

        def select_action(self, obs):
            return SynthUIEnv("ClickButton").to_env_action(Action("wait", duration=0.5))

    env = SynthUIEnv("ClickButton")
    assert IntentChecker.of(env, Plain()) is None
    assert run_episode(Plain(), "synthui/ClickButton-v0", 0, max_steps=2).intent_checks == []


def test_checks_judge_no_step_where_the_expert_only_waits():
    env = SynthUIEnv("MenuItem", perturbation="latency:1.0")
    checker = IntentChecker(env)
    run = ExpertSteps(env, 1, careful_expert(env))
    waits = 0
    for obs, action, info in run:
        waits += action.kind == "wait"
        checker.check(obs, info, env.to_env_action(action), action.intent)
    assert waits > 0 and len(checker.checks) == run.steps - waits
    assert all(c[0] == c[1] and c[2] for c in checker.checks)
