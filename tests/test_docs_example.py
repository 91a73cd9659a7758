"""The worked example in docs/recording-format.md stays valid, and matches the shipped JSON Schema."""

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from act.recording import read_episode

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "episode"
SCHEMA = json.loads(resources.files("act.recording").joinpath("episode-v1.schema.json").read_text())


def _validator(definition: str):
    return jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{definition}"})


def test_worked_example_reads_as_documented():
    ep = read_episode(EXAMPLE)
    actions = ep.actions()
    assert [(a.kind, a.key) for a in actions] == [
        ("click", None),
        ("key", "c"),
        ("key", "a"),
        ("key", "t"),
        ("key", "enter"),
    ]
    assert (actions[0].x, actions[0].y) == (60, 30)
    assert [a.frame_index for a in actions] == [0, 1, 1, 1, 1]


def test_worked_example_matches_the_json_schema():
    _validator("meta").validate(json.loads((EXAMPLE / "meta.json").read_text()))
    for file, definition in [
        ("frames.jsonl", "frame"),
        ("events.jsonl", "event"),
        ("intents.jsonl", "intent"),
    ]:
        for line in (EXAMPLE / file).read_text().splitlines():
            _validator(definition).validate(json.loads(line))


def test_schema_rejects_what_the_reader_rejects():
    with pytest.raises(jsonschema.ValidationError):
        _validator("event").validate({"t": 0.1, "type": "mouse_down", "x": 1, "y": 2})  # no button
    with pytest.raises(jsonschema.ValidationError):
        _validator("meta").validate({**json.loads((EXAMPLE / "meta.json").read_text()), "format_version": 2})
