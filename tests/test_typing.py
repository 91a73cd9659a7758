"""Typing what the instruction says: the byte-level instruction encoder, the key head's COPY pointer
and its targets, and train/test string splits of the synthui tasks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from act.data.build import DatasetInfo
from act.data.chunks import chunk_window
from act.envs.synthui.tasks import TASKS
from act.envs.synthui.tasks.base import TEXT_SPLITS
from act.policy import ACTConfig, ACTPolicy
from act.recording.schema import Action
from act.spaces.action_space import KIND_ID, ActionSpace
from act.spaces.copy import copied_char, copy_targets, next_typed_count, typed_counts
from act.spaces.vocab import MAX_INSTRUCTION_BYTES, NUM_BYTE_IDS, decode_bytes, encode_bytes


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def chars_config(**overrides) -> ACTConfig:
    base = dict(
        image_size=(16, 16),
        convnet_channels=(8,),
        convnet_strides=(4,),
        dim_model=64,
        n_heads=4,
        dim_feedforward=128,
        n_encoder_layers=2,
        n_decoder_layers=1,
        use_vae=False,
        chunk_size=8,
        dropout=0.0,
        instruction_encoding="chars",
        key_copy=True,
    )
    return ACTConfig(**{**base, **overrides})


# ------------------------------------------------------------------------------ the byte encoder


def test_an_unseen_string_round_trips_through_the_byte_encoder():
    text = 'Tapez «zqx-42» puis Entrée ✓ "Ünïcödé"'
    ids = encode_bytes(text)
    assert len(ids) == MAX_INSTRUCTION_BYTES
    assert all(2 <= i < NUM_BYTE_IDS for i in ids if i) and ids[len(text.encode()) :] == [0] * (
        MAX_INSTRUCTION_BYTES - len(text.encode())
    )
    assert decode_bytes(ids) == text
    policy = ACTPolicy(chars_config()).eval()
    image = torch.zeros(1, 3, 16, 16, dtype=torch.uint8)
    with torch.no_grad():
        enc = policy.model.encode_observation(image, policy.instruction_ids(text), torch.zeros(1, 32))
    assert enc.ids.shape == (1, len(text.encode()))  # one encoder token per byte, padding dropped
    assert decode_bytes(enc.ids[0].tolist()) == text


def test_chars_and_copy_config_fields_are_checked_by_name():
    with pytest.raises(ValueError, match="instruction_encoding"):
        ACTConfig(instruction_encoding="bytes")
    with pytest.raises(ValueError, match="key_copy"):
        ACTConfig(key_copy=True)  # words cannot be pointed into
    with pytest.raises(ValueError, match="key_copy"):
        ACTConfig(instruction_encoding="chars", key_copy=True, instruction_tokens="pooled")
    with pytest.raises(ValueError, match="seek_byte_words"):
        ACTConfig(seek_byte_words=True)  # words are words already
    with pytest.raises(ValueError, match="copy_weight"):
        ACTConfig(copy_weight=-1.0)
    assert ACTConfig().instruction_encoding == "words" and not ACTConfig().key_copy


# ----------------------------------------------------------------------------- copy targets


def test_copy_targets_follow_the_span_through_repeated_letters_and_spaces():
    ins = 'Type "bookkeeper" then search "red  shoes".'
    assert copy_targets(ins, [*"bookkeeper", "enter"]) == [*range(6, 16), -1]
    start = ins.index("red")
    assert copy_targets(ins, [None, *"red  shoes", "enter"]) == [-1, *range(start, start + 10), -1]
    assert copy_targets(ins, ["space"]) == [4]  # the named key space types " "


def test_copy_targets_skip_a_typo_corrected_with_backspace():
    ins = "Log in as bob with password bob12."
    keys = ["b", "o", "x", "backspace", "b", "tab", "b", "o", "b", "1", "p", "backspace", "2", "enter"]
    user, pw = ins.index("bob"), ins.index("bob12")
    assert copy_targets(ins, keys) == [
        user,
        user + 1,
        -1,
        -1,
        user + 2,
        -1,
        pw,
        pw + 1,
        pw + 2,
        pw + 3,
        -1,
        -1,
        pw + 4,
        -1,
    ]
    # the typo's letter is in the instruction ("p" of "password"), yet it copies nothing


def test_copy_targets_choose_the_occurrence_the_typed_text_continues():
    ins = "Use bob / bob12 to log in."
    second = ins.index("bob12")
    assert copy_targets(ins, list("bob12")) == list(range(second, second + 5))  # not the first "bob"
    assert copy_targets(ins, [*"bob", "tab"]) == [4, 5, 6, -1]  # a tie: the earliest
    # typing resumes mid-word after a pop-up was dismissed, and after pre-filled text
    # (a step without a key ends the span; what is typed next finds it again)
    b12 = [second, second + 1, second + 2, second + 3]
    assert copy_targets(ins, ["b", "o", "b", "1", None, "2"]) == [*b12, -1, second + 4]
    assert copy_targets(ins, list("12")) == [second + 3, second + 4]


def test_copy_targets_leave_what_the_instruction_lacks_and_count_bytes():
    assert copy_targets("Type abc.", ["z", "ctrl+a", "a"]) == [-1, -1, 5]
    ins = "Tapez «été» vite"
    targets = copy_targets(ins, list("été"))
    assert targets == [len("Tapez «".encode()), len("Tapez «é".encode()), len("Tapez «ét".encode())]
    assert [copied_char(ins, t) for t in targets] == list("été")


def test_online_samples_carry_copy_targets_that_name_the_typed_key():
    from act.training.online import ExpertStream

    space = ActionSpace()
    info = DatasetInfo((120, 160), space.to_json(), [], [], 32)
    stream = ExpertStream(info, ["Login"], chunk_size=4)
    copied = 0
    for seed in range(3):
        for s in stream.episode("Login", "", seed):
            text = decode_bytes(s["instruction_bytes"].tolist())
            for kind, key, copy in zip(s["kind"], s["key"], s["copy"]):
                if copy >= 0:
                    assert kind == KIND_ID["key"] and copied_char(text, int(copy)) == space.keys.token(
                        int(key)
                    )
                    copied += 1
    assert copied > 10


# ------------------------------------------------------------------------------- text splits


def test_train_and_test_strings_are_disjoint_for_every_task():
    typing = {"SearchSubmit", "Login", "ExportReport"}
    for name, task in TASKS.items():
        for list_name, (train, test) in task.text_lists.items():
            assert train and test, (name, list_name)
            assert not set(train) & set(test), (name, list_name)
        assert task.text_lists or name not in typing, name


def _stems(task: str, t) -> list[str]:
    """The list entries behind a task's drawn strings (a query's words, a name's stem)."""
    if task == "SearchSubmit":
        return t.query.split()
    if task == "Login":
        return [t.user.split("_")[0].rstrip("0123456789"), *(c for c in t.password if not c.isdigit())]
    if task == "ExportReport":
        return [t.file.rstrip("0123456789")]
    if task == "ScrollOpen":
        return [t.target.rsplit("_", 1)[0]]
    return [t.target.removeprefix("btn:")]  # ClickButton


@pytest.mark.parametrize("task", ["SearchSubmit", "Login", "ExportReport", "ScrollOpen", "ClickButton"])
def test_each_split_draws_from_its_own_list(task):
    cls = TASKS[task]
    train = {x for tr, _ in cls.text_lists.values() for x in tr}
    test = {x for _, te in cls.text_lists.values() for x in te}
    for seed in range(20):
        default, same = cls(np.random.default_rng(seed)), cls(np.random.default_rng(seed), text_split="train")
        assert default.text_split == "train" and default.instruction == same.instruction
        assert set(_stems(task, default)) <= train
        held_out = cls(np.random.default_rng(seed), text_split="test")
        assert set(_stems(task, held_out)) <= test, held_out.instruction
        assert cls(np.random.default_rng(seed), text_split="random").instruction
    assert set(TEXT_SPLITS) == {"train", "test", "random"}
    with pytest.raises(ValueError, match="text_split"):
        cls(np.random.default_rng(0), text_split="dev")


# ------------------------------------------------------------------ typing an unseen string


TEMPLATES = ('Type "{s}" and press enter.', 'Please type "{s}", then press enter.')


def typing_sample(instruction: str, typed: str, k: int, space: ActionSpace) -> dict[str, torch.Tensor]:
    """The first observation of an episode typing ``typed`` then Enter, in ChunkDataset's format."""
    keys = [*typed, "enter"]
    return first_sample(instruction, [Action("key", key=key) for key in keys], k, space)


def fit(policy: ACTPolicy, batch: dict[str, torch.Tensor], steps: int) -> dict[str, torch.Tensor]:
    """``steps`` Adam steps (lr 3e-3) on one batch; the last step's loss terms and accuracies."""
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    for _ in range(steps):
        loss, terms = policy(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return terms


def first_sample(
    instruction: str, actions: list[Action], k: int, space: ActionSpace
) -> dict[str, torch.Tensor]:
    """The first observation (a blank 16 x 16 screen) of an episode of ``actions``, as ChunkDataset's."""
    keys = [a.key if a.kind == "key" else None for a in actions]
    arrays = space.encode(actions, 16, 16)
    arrays["copy"] = np.array(copy_targets(instruction, keys), np.int64)
    arrays["typed"] = np.array(typed_counts(keys), np.int64)
    sample = chunk_window(arrays, 0, len(keys), k)
    sample["image"] = torch.zeros(3, 16, 16, dtype=torch.uint8)
    sample["instruction"] = torch.zeros(4, dtype=torch.long)
    sample["instruction_bytes"] = torch.tensor(encode_bytes(instruction))
    sample["intent"] = torch.tensor(0)
    return sample


@pytest.mark.slow
def test_a_policy_from_pretrained_types_a_string_it_never_saw(tmp_path):
    """Trained on 64 random words typed from a blank screen, it types words it never saw, executing
    its chunk or re-planning at every step (its own typed count says where in the span it is)."""
    rng = np.random.default_rng(0)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    words = ["".join(rng.choice(letters, int(rng.integers(3, 8)))) for _ in range(64)]
    config = chars_config()
    space = ActionSpace.from_json(config.action_space)
    samples = [
        typing_sample(TEMPLATES[i % 2].format(s=w), w, config.chunk_size, space) for i, w in enumerate(words)
    ]
    batch = {key: torch.stack([s[key] for s in samples]) for key in samples[0]}
    torch.manual_seed(0)
    policy = ACTPolicy(config)
    steps = 300
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 1 - i / steps)  # settles at the end
    for _ in range(steps):
        loss, terms = policy(batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    assert terms["acc_copy"] == 1.0 and terms["acc_key"] == 1.0, terms
    policy.save_pretrained(tmp_path / "typist")
    loaded = ACTPolicy.from_pretrained(tmp_path / "typist")
    right = 0
    for template in TEMPLATES:
        for unseen in ("zqwx", "rusty", "abcdef", "mno"):
            assert unseen not in words
            obs = {"screen": np.zeros((16, 16, 3), np.uint8), "instruction": template.format(s=unseen)}
            runs = []
            for n_action_steps in (config.chunk_size, 1):  # one chunk, then re-planning every step
                loaded.config.n_action_steps = n_action_steps
                loaded.reset()
                actions = [loaded.select_action(obs) for _ in range(len(unseen) + 1)]
                assert all(a["kind"] == KIND_ID["key"] for a in actions)
                runs.append([space.keys.token(a["key"]) for a in actions])
            assert runs[0] == runs[1], runs  # the typed count, not the chunk, says where the span is
            right += runs[0] == [*unseen, "enter"]
    assert right >= 7, right  # a 64-word overfit: one slip of the span's start is allowed


def name_then_click_sample(name: str, k: int, space: ActionSpace) -> dict[str, torch.Tensor]:
    """Login on the desktop app, first observation: type the user name, then click the next field."""
    actions = [*(Action("key", key=c) for c in name), Action("click", x=8, y=8)]
    return first_sample(f"Sign in as {name} with the password x9", actions, k, space)


@pytest.mark.slow
def test_kind_copy_clicks_the_next_field_where_a_name_of_unseen_length_ends():
    """The user name is unquoted and the next step is a click, not a key the key head could pick
    from the pointed characters: with kind_copy the kind head sees the space after the name and
    clicks; names of lengths 3-5 in training, 6 and 7 at test."""
    rng = np.random.default_rng(0)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    names = ["".join(rng.choice(letters, int(rng.integers(3, 6)))) for _ in range(48)]
    config = chars_config(kind_copy=True)
    space = ActionSpace.from_json(config.action_space)
    batch = [name_then_click_sample(n, config.chunk_size, space) for n in names]
    batch = {key: torch.stack([s[key] for s in batch]) for key in batch[0]}
    torch.manual_seed(0)
    policy = ACTPolicy(config)
    terms = fit(policy, batch, 200)
    assert terms["acc_kind"] == 1.0, terms
    policy.eval()
    right = 0
    for name in ("zqwxvb", "rustyax", "mnopqr", "hijklmn"):
        obs = {
            "screen": np.zeros((16, 16, 3), np.uint8),
            "instruction": f"Sign in as {name} with the password x9",
        }
        policy.reset()
        actions = [policy.select_action(obs) for _ in range(len(name) + 1)]
        typed = [space.keys.token(a["key"]) for a in actions if a["kind"] == KIND_ID["key"]]
        right += typed == list(name) and actions[-1]["kind"] == KIND_ID["click"]
    assert right >= 3, right


def test_kind_copy_needs_key_copy_and_changes_nothing_when_off():
    with pytest.raises(ValueError, match="^kind_copy: .*needs key_copy"):
        chars_config(key_copy=False, kind_copy=True)
    assert not ACTConfig().kind_copy
    torch.manual_seed(0)
    off = ACTPolicy(chars_config())
    assert off.model.kind_pointed_proj is None
    on = ACTPolicy(chars_config(kind_copy=True))
    extra = {n for n, _ in on.named_parameters()} - {n for n, _ in off.named_parameters()}
    assert extra == {"model.kind_pointed_proj.weight", "model.kind_pointed_proj.bias"}


def test_copy_targets_when_backspaces_erase_more_than_the_span_typed_so_far():
    """DAgger labels: the expert deletes letters a policy typed wrongly, past the ones typed here."""
    from act.spaces.copy import NOT_A_COPY, copy_targets

    out = copy_targets("Sign in as vic", [None, "v", "i", "backspace", "backspace"])
    assert len(out) == 5 and all(t == NOT_A_COPY for t in out)


# ---------------------------------------------------------- text splits through env, suite and eval


@pytest.mark.parametrize("task", ["SearchSubmit", "Login", "ExportReport"])
def test_the_env_passes_its_text_split_to_the_task_and_reports_what_was_typed(task):
    from act.envs.synthui.env import SynthUIEnv
    from act.envs.synthui.macro import run_expert

    test = {x for _, te in TASKS[task].text_lists.values() for x in te}
    for seed in range(3):
        env = SynthUIEnv(task, text_split="test", headless=True)
        run = run_expert(env, seed)
        assert run.success and run.info["text_split"] == "test"
        assert set(_stems(task, env.task)) <= test, env.task.instruction
        fields = run.info["typed"]
        assert fields and all(f["text"] == f["target"] for f in fields.values()), fields
    _, info = SynthUIEnv(task, headless=True).reset(seed=0)
    assert all(f["text"] != f["target"] for f in info["typed"].values())  # nothing typed yet
    with pytest.raises(ValueError, match="text_split"):
        SynthUIEnv(task, text_split="dev")


@pytest.mark.parametrize("task", sorted(TASKS))
def test_types_text_marks_exactly_the_tasks_with_strings_to_type(task):
    """data.text_random_tasks=typing trusts the flag to pick the typing tasks before an episode exists."""
    built = TASKS[task](np.random.default_rng(0))
    assert TASKS[task].types_text == bool(built.text_targets()), task


def test_suites_report_test_strings_and_validate_on_random_ones():
    from act.eval.suites import Suite

    assert Suite().text_split == "test"
    assert Suite(split="validation").text_split == "random"
    assert Suite(split="validation", text_split="train").text_split == "train"
    with pytest.raises(ValueError, match="text_split 'dev'"):
        Suite(text_split="dev")


def test_episodes_record_typed_exact_match_and_the_macro_replays_the_same_strings(tmp_path):
    from act.eval import evaluate
    from act.eval.policies import PolicySpec
    from act.eval.suites import Suite

    suite = Suite(tasks=["Login", "ClickButton"], episodes=2)
    specs = [PolicySpec("macro", "macro"), PolicySpec("random", "random")]
    results = evaluate(specs, suite, num_workers=1, out_dir=tmp_path, explain=False, progress=False)
    by = {(e["policy"], e["task"]): e for e in results["episodes"]}
    assert by[("macro", "Login")]["typed_exact"] is True and by[("macro", "Login")]["success"]
    assert by[("random", "Login")]["typed_exact"] is False
    assert by[("macro", "ClickButton")]["typed_exact"] is None  # types nothing
    nominal = results["summary"]["macro"]["conditions"]["nominal"]
    assert nominal["typed_tasks"] == {"Login": 1.0} and nominal["typed_n"] == 2
    assert results["protocol"]["text_split"] == "test"
    report = (tmp_path / "report.md").read_text()
    assert "## Typed strings (text split: test)" in report
    assert "| macro | nominal | Login | 100% | 100% |" in report


def test_typed_runs_group_consecutive_key_steps_of_one_episode():
    from act.eval.offline import typed_runs

    typed = {(0, 2): True, (0, 3): True, (0, 4): False, (0, 7): True, (1, 0): True, (1, 1): True}
    assert typed_runs(typed) == [(0, False), (0, True), (1, True)]
    assert typed_runs({}) == []


# ------------------------------------------------------------- the span pointer: next character typed


def test_typed_counts_follow_characters_backspaces_and_other_keys():
    keys = [None, "b", "o", "x", "backspace", "b", "tab", "backspace", "p", "w", "enter"]
    assert typed_counts(keys) == [0, 0, 1, 2, 3, 2, 3, 0, 0, 1, 2]
    assert next_typed_count(3, "space") == 4 and next_typed_count(3, "ctrl+a") == 0
    assert next_typed_count(0, "backspace") == 0 and next_typed_count(2, None) == 0
    # span start + typed count = the byte each copied step copies (the typo "x" copies nothing)
    text = 'Log in as "bob"'
    for target, count in zip(copy_targets(text, keys[:6]), typed_counts(keys[:6])):
        assert target < 0 or text[target - count] == "b"


def test_advance_copies_shifts_the_start_by_the_typed_count():
    from act.policy.modeling_act import advance_copies

    ids = torch.tensor([[5, 6, 7, 8, 0]])  # four bytes and padding
    start = torch.tensor([[[0.0, 9.0, 0.0, 0.0, 0.0]] * 3])  # every step: the span starts at byte 1
    typed = torch.tensor([[0, 1, 2]])
    out = advance_copies(start, typed, ids)  # (1, 3, 5)
    assert out.argmax(-1).tolist() == [[1, 2, 3]]
    assert (out[0, 1, :1] == -1e9).all() and (out[0, 2, :2] == -1e9).all()  # nothing before the shift
    assert (out[..., 4] == -1e9).all()  # padding never copied


# ------------------------------------------------- what the policy knows from its own actions


def test_previous_kinds_shift_the_episode_by_one_step():
    from act.data.chunks import previous_kinds

    assert previous_kinds(np.array([3, 0, 0, 2])).tolist() == [0, 4, 1, 1]
    assert previous_kinds(np.array([], np.int64)).tolist() == []


def test_online_and_recorded_samples_tell_the_step_before():
    from act.training.online import ExpertStream

    info = DatasetInfo((120, 160), ActionSpace().to_json(), [], [], 32)
    samples = ExpertStream(info, ["Login"], chunk_size=4).episode("Login", "", 0)
    assert samples[0]["prev_kind"][0] == 0  # nothing before the first step
    for before, now in zip(samples, samples[1:]):
        assert now["prev_kind"][0] == before["kind"][0] + 1
        if not now["is_pad"][1]:
            assert now["prev_kind"][1] == now["kind"][0] + 1  # within the chunk, as typed is


def test_recorded_samples_tell_the_step_before(recordings, tmp_path):
    from act.data import ChunkDataset, build_dataset

    info = build_dataset(recordings, tmp_path / "ds", image_size=(30, 40))
    ds = ChunkDataset(info, chunk_size=3)
    by_episode: dict[int, list] = {}
    for i in range(len(ds)):
        s = ds[i]
        by_episode.setdefault(int(s["episode_index"]), []).append(s)
    for steps in by_episode.values():
        assert steps[0]["step_index"] == 0 and steps[0]["prev_kind"][0] == 0
        for before, now in zip(steps, steps[1:]):
            assert now["prev_kind"][0] == before["kind"][0] + 1


def test_prev_action_tells_apart_screens_that_look_the_same():
    """Click a field, then type: the field's focus is invisible here (one blank screen), so only the
    policy's own last action says which comes next. With prev_action it learns both and executes them
    in order; without it the two samples are the same input and it cannot."""
    space = ActionSpace()
    click, key = Action("click", x=8, y=8), Action("key", key="a")
    arrays = space.encode([click, key], 16, 16)
    arrays["copy"] = np.full(2, -1, np.int64)
    arrays["typed"] = np.zeros(2, np.int64)
    from act.data.chunks import previous_kinds

    arrays["prev_kind"] = previous_kinds(arrays["kind"])
    samples = []
    for i in range(2):
        s = chunk_window(arrays, i, i + 1, 1)  # one-step chunks: what this step does, nothing after
        s.update(
            image=torch.zeros(3, 16, 16, dtype=torch.uint8),
            instruction=torch.zeros(4, dtype=torch.long),
            instruction_bytes=torch.tensor(encode_bytes('Type "a".')),
            intent=torch.tensor(0),
        )
        samples.append(s)
    batch = {k: torch.stack([s[k] for s in samples]) for k in samples[0]}
    accuracy = {}
    for prev_action in (False, True):
        torch.manual_seed(0)
        policy = ACTPolicy(chars_config(chunk_size=1, key_copy=False, prev_action=prev_action))
        accuracy[prev_action] = float(fit(policy, batch, 60)["acc_kind"])
        if prev_action:
            obs = {"screen": np.zeros((16, 16, 3), np.uint8), "instruction": 'Type "a".'}
            policy.reset()
            kinds = [int(policy.select_action(obs)["kind"]) for _ in range(2)]
            assert kinds == [KIND_ID["click"], KIND_ID["key"]]
    assert accuracy == {False: 0.5, True: 1.0}


def test_typing_experiment_is_the_demo_on_the_typing_tasks_with_the_copy_path_on():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from tests.test_training import CONFIGS

    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        demo = compose("train", overrides=["experiment=demo"])
        typing = compose("train", overrides=["experiment=typing"])
    policy = ACTConfig.from_dict(OmegaConf.to_container(typing.policy, resolve=True), source="policy")
    assert policy.instruction_encoding == "chars" and policy.key_copy and policy.prev_action
    assert policy.kind_weight == 3.0
    changed = {"instruction_encoding", "key_copy", "prev_action", "kind_weight"}
    assert {k: v for k, v in typing.policy.items() if k not in changed} == {
        k: v for k, v in demo.policy.items() if k not in changed
    }
    assert list(typing.data.generate.tasks) == ["SearchSubmit", "Login"]
    assert list(typing.data.generate.perturbations) == [""] and typing.data.generate.episodes == 60
    assert typing.data.text_random == 0.5
    assert typing.optim == demo.optim and typing.trainer.max_steps == demo.trainer.max_steps


def test_byte_words_give_each_byte_of_a_word_its_vocabulary_id():
    from act.spaces.vocab import Vocabulary, byte_words

    vocab = Vocabulary(["click", "ok", "button"])
    text = 'Click "OK", zap é'
    got = byte_words(encode_bytes(text, 24), vocab)
    want = [2] * 5 + [0, 0] + [3] * 2 + [0, 0, 0] + [1] * 3 + [0] + [1] * 2 + [0] * 6  # é is 2 bytes
    assert got == want
    # lower-casing changes these characters' lengths; the words after them keep their own bytes
    assert byte_words(encode_bytes("\u212a ok", 6), vocab) == [1, 1, 1, 0, 3, 3]  # Kelvin sign: 3 bytes
    assert byte_words(encode_bytes("\u0130 ok", 5), vocab) == [1, 1, 0, 3, 3]  # dotted I: 2 chars lower


def test_a_byte_level_seek_copies_the_word_its_bytes_belong_to():
    """seek_byte_words: the seek head's copy over instruction bytes lands on the vocabulary id of
    their word, so a byte-level policy seeks "ok" from 'click "ok"' as a word-level one does."""
    from tests.test_policy import WORDS, tiny_config

    config = tiny_config(instruction_encoding="chars", seek_byte_words=True)
    policy = ACTPolicy(config)
    ids = torch.tensor([encode_bytes('Click "OK"', 16), encode_bytes("ok", 16)])  # (2, 16)
    image = torch.zeros(2, 3, *config.image_size, dtype=torch.uint8)
    with torch.no_grad():
        out = policy.model(image, ids)
        ok = WORDS.index("ok") + 2  # after <pad>, <unk>
        assert out["word_ids"][1, :2].tolist() == [ok, ok] and out["word_ids"][1, 2:].eq(0).all()
        seek = policy.model.point_head.seek
        seek.gate.bias.fill_(50.0)  # all copy: the second instruction has one word to copy
        p = seek(out["steps"], out["word_ids"], out["instruction_memory"]).exp()  # (2, K, words)
    assert torch.allclose(p[1, :, ok], torch.ones(config.chunk_size), atol=1e-4)
    assert torch.allclose(p[0].sum(-1), torch.ones(config.chunk_size), atol=1e-4)
    off = ACTPolicy(tiny_config(instruction_encoding="chars")).model(image, ids)
    assert off["word_ids"] is None  # without it the seek head only classifies, as before


def test_byte_word_embed_adds_each_known_words_vector_to_its_bytes():
    """byte_word_embed: a byte's token is its byte embedding plus the embedding of the vocabulary
    word it belongs to; "ok" and "zz" (unknown) spelled alike differ only by that word vector, and
    bytes outside words (spaces, quotes) get nothing added."""
    from tests.test_policy import WORDS, tiny_config

    config = tiny_config(instruction_encoding="chars", byte_word_embed=True)
    model = ACTPolicy(config).model
    ids = torch.tensor([encode_bytes('"ok" zz', 8)])  # (1, 8)
    words = model.byte_word_ids(ids)
    ok = WORDS.index("ok") + 2  # after <pad>, <unk>
    assert words.tolist() == [[0, ok, ok, 0, 0, 1, 1, 0]]
    with torch.no_grad():
        model.byte_word_embed.weight[ok].fill_(1.0)
        model.byte_word_embed.weight[1].fill_(-1.0)
        captured = {}
        hook = model.encoder.register_forward_pre_hook(
            lambda m, args, kw: captured.update(x=args[0]), with_kwargs=True
        )
        model(torch.zeros(1, 3, *config.image_size, dtype=torch.uint8), ids)
        hook.remove()
    text = captured["x"][0, 1:8]  # (7, D): the instruction's tokens (its padding byte is dropped)
    byte = model.word_embed(ids[0, :7]).detach()  # (7, D)
    assert torch.allclose(text[[0, 3, 4]], byte[[0, 3, 4]], atol=1e-5)  # no word: bytes alone
    assert torch.allclose(text[1:3], byte[1:3] + 1.0, atol=1e-5)
    assert torch.allclose(text[5:7], byte[5:7] - 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="byte_word_embed: works on instruction bytes"):
        tiny_config(byte_word_embed=True)  # the words encoding has word tokens already


def test_all_tasks_experiment_trains_every_synthui_task_on_the_byte_level_copy_path():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from tests.test_training import CONFIGS

    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        demo = compose("train", overrides=["experiment=demo"])
        every = compose("train", overrides=["experiment=all_tasks"])
    assert sorted(every.data.generate.tasks) == sorted(TASKS)
    assert every.data.generate.perturbations == demo.data.generate.perturbations
    policy = ACTConfig.from_dict(OmegaConf.to_container(every.policy, resolve=True), source="policy")
    assert policy.instruction_encoding == "chars" and policy.key_copy and policy.byte_word_embed
    assert policy.seek_byte_words and policy.prev_action
    assert every.data.text_random == 0.5 and every.data.text_random_tasks == "typing"
    assert every.data.task_balance == 1.0 and demo.data.task_balance == 0.0  # equal samples per task
    assert every.trainer.max_steps > demo.trainer.max_steps
