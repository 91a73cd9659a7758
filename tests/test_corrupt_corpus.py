"""The corrupt corpus (tests/corrupt_corpus.py) through every entry point: ``validation_report`` /
``validate``, the ``act-inspect`` CLI, ``build_dataset`` and ``ACTPolicy.from_pretrained``.

Each case ends in the library's own error naming the file (and line and field where there is one),
or in a documented acceptance that the validation report counts; no other exception may escape.
Where the JSON Schema can express a rule, it and the reader agree on accept/reject.

Issue 21's defects, each failing on the reader before it: non-UTF-8 bytes (``*_non_utf8``),
unreleased press (``events_unreleased_press``), wrong-size frame (``png_wrong_size``), symlinked
episode directory (``accepted_episode_behind_symlink``), frame symlink outside the episode
(``png_symlink_outside``), unknown fields in frames/intents (``frames_unknown_field``,
``intents_unknown_field``), duplicate episode_ids (``duplicate_episode_id``), a huge coordinate
(``events_x_huge_int``, ``events_x_1e400``), deep nesting (``*_deep_nesting``), zero-byte and
garbage PNGs (``png_zero_bytes``, ``png_garbage``), an empty key (``events_empty_key``), and
config.json of the wrong type or not JSON (``config_wrong_type``, ``config_invalid_json``).
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from act.recording import RecordingError, validation_report
from tests.conftest import write_episode
from tests.corrupt_corpus import EP, POLICY_CASES, RECORDING_CASES, Case, PolicyCase

SCHEMA = json.loads(resources.files("act.recording").joinpath("episode-v1.schema.json").read_text())
ERRORS = [c for c in RECORDING_CASES if c.file is not None]
ACCEPTED = [c for c in RECORDING_CASES if c.file is None]


def _make(tmp_path: Path, case: Case) -> Path:
    root = tmp_path / "root"
    write_episode(root / EP, steps=3)
    case.mutate(root)
    return root / case.target


def _where(case: Case) -> str:
    """How ``str(Problem)`` begins for the expected problem: file[:line][ [field]]:"""
    return (
        case.file + (f":{case.line}" if case.line else "") + (f" [{case.field}]" if case.field else "") + ":"
    )


def _names_it(case: Case, problems) -> bool:
    return any(
        p.file.endswith(case.file)
        and (case.line is None or p.line == case.line)
        and (case.field is None or p.field == case.field)
        for p in problems
    )


def test_the_corpus_is_large_and_named_uniquely():
    names = [c.name for c in RECORDING_CASES + POLICY_CASES]
    assert len(names) >= 50 and len(set(names)) == len(names)
    assert len(ACCEPTED) >= 5 and len(POLICY_CASES) >= 20


def test_the_unmutated_episode_is_valid_everywhere(tmp_path):
    root = _make(tmp_path, Case("good", lambda root: None, None))
    report = validation_report(root)
    assert report.ok and report.episodes == 1 and not report.accepted
    assert _schema_accepts(root / EP)


@pytest.mark.parametrize("case", RECORDING_CASES, ids=str)
def test_validate(tmp_path, case):
    report = validation_report(_make(tmp_path, case))
    if case.file is None:
        assert report.problems == [], report.problems
        if case.accepted:
            assert report.accepted[case.accepted] >= 1, report.accepted
        return
    assert _names_it(case, report.problems), report.problems
    assert all(p.file for p in report.problems)


@pytest.mark.parametrize("case", RECORDING_CASES, ids=str)
def test_act_inspect(tmp_path, case, capsys):
    from act.cli.inspection import main

    target = _make(tmp_path, case)
    rc = main([str(target), "--out", str(tmp_path / "inspect")])
    out, err = capsys.readouterr()
    if case.file is None:
        assert rc == 0, err
        assert "episodes: 1" in out
        if case.accepted:
            assert f"{case.accepted} 1" in out
        return
    assert rc == 1
    assert _where(case) in err, err


@pytest.mark.parametrize("case", RECORDING_CASES, ids=str)
def test_build_dataset(tmp_path, case):
    from act.data import build_dataset

    target = _make(tmp_path, case)
    if case.file is None:
        info = build_dataset(target, tmp_path / "ds", image_size=(24, 32))
        assert info.num_episodes == 1 and info.num_steps > 0
        return
    with pytest.raises(RecordingError) as e:
        build_dataset(target, tmp_path / "ds", image_size=(24, 32))
    assert _names_it(case, e.value.problems), e.value.problems
    assert not (tmp_path / "ds").exists()


def _validator(definition: str):
    return jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{definition}"})


def _schema_accepts(ep: Path) -> bool:
    """Every line of every file valid against its schema definition (an unparsable line is invalid)."""
    for file, definition, required in [
        ("meta.json", "meta", True),
        ("frames.jsonl", "frame", True),
        ("events.jsonl", "event", True),
        ("intents.jsonl", "intent", False),
    ]:
        if not (ep / file).is_file():
            if required:
                return False
            continue
        data = (ep / file).read_bytes()
        docs = [data] if file == "meta.json" else data.splitlines()
        for doc in docs:
            try:
                value = json.loads(doc.decode("utf-8"))
            except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep, too many digits
                return False
            if not _validator(definition).is_valid(value):
                return False
    return True


@pytest.mark.parametrize("case", [c for c in RECORDING_CASES if c.schema], ids=str)
def test_the_json_schema_agrees_with_the_reader(tmp_path, case):
    target = _make(tmp_path, case)
    reader_ok = validation_report(target).ok
    assert reader_ok is (case.file is None)
    assert _schema_accepts(tmp_path / "root" / EP) is reader_ok


# ------------------------------------------------------------------------------------ policies


@pytest.fixture(scope="module")
def saved_policy(tmp_path_factory) -> Path:
    from tests.test_policy import seeded_policy, tiny_config

    return seeded_policy(tiny_config()).save_pretrained(tmp_path_factory.mktemp("policy") / "p")


def test_the_unmutated_policy_loads(saved_policy):
    from act.policy import ACTPolicy

    assert not ACTPolicy.from_pretrained(saved_policy).training


@pytest.mark.parametrize("case", POLICY_CASES, ids=str)
def test_from_pretrained(tmp_path, saved_policy, case: PolicyCase):
    from act.policy import ACTPolicy, WeightsFormatError
    from act.policy.errors import PolicyLoadError

    d = tmp_path / "p"
    shutil.copytree(saved_policy, d)
    case.mutate(d)
    with pytest.raises((PolicyLoadError, WeightsFormatError)) as e:
        ACTPolicy.from_pretrained(d)
    message = str(e.value)
    assert str(d / case.file) in message, message
    if case.field:
        assert case.field in message, message


def test_config_errors_name_the_file_line_and_field(tmp_path):
    from act.policy import ACTConfig
    from act.policy.errors import ConfigError

    bad = tmp_path / "config.json"
    bad.write_text('{\n  "chunk_size": 4,\n  "dim_model": \n}\n')
    with pytest.raises(ConfigError, match=rf"^{bad}:4: not valid JSON"):
        ACTConfig.from_json(bad)
    with pytest.raises(ConfigError, match=r"^policy: chunk_size: must be an integer, got 'ten'"):
        ACTConfig.from_dict({"chunk_size": "ten"}, source="policy")
    with pytest.raises(ConfigError, match=r"^policy: instruction_vocab: must be a list of strings"):
        ACTConfig.from_dict({"instruction_vocab": "abc"}, source="policy")  # not split into letters
    assert isinstance(ConfigError("x"), ValueError)
    good = ACTConfig.from_dict({"chunk_size": 4, "image_size": [24, 32], "temporal_ensemble_coeff": None})
    assert good.chunk_size == 4 and good.image_size == (24, 32)
