"""Format v1: writer -> reader round trip, and bad input named by file, line and field."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from act.recording import EpisodeMeta, EpisodeWriter, Event, RecordingError, Screen, read_episode, validate
from tests.conftest import write_episode


def test_round_trip(tmp_path):
    ep = read_episode(write_episode(tmp_path / "ep", steps=4, typed="hi"))
    assert ep.meta.complete and ep.meta.success is True
    assert len(ep.frames) == 5
    actions = ep.actions()
    assert [a.kind for a in actions] == ["click"] * 4 + ["key", "key"]
    assert [a.frame_index for a in actions] == [0, 1, 2, 3, 4, 4]
    assert [a.key for a in actions[-2:]] == ["h", "i"]
    assert actions[0].intent == "press ok" and actions[-1].intent == "type the name"
    assert ep.frame(0).shape == (120, 160, 3)


def test_interrupted_writer_leaves_a_readable_prefix_marked_incomplete(tmp_path):
    meta = EpisodeMeta("e", "desktop", "t", "do it", Screen(32, 16))
    w = EpisodeWriter(tmp_path / "ep", meta)
    import numpy as np

    w.add_frame(np.zeros((16, 32, 3), np.uint8), 0.0)
    w.add_event(Event(0.1, "click", x=1, y=2))
    # simulate a kill mid-line: a torn last line, and no finish()
    with open(tmp_path / "ep" / "events.jsonl", "a") as f:
        f.write('{"t": 0.2, "type": "cli')
    ep = read_episode(tmp_path / "ep")
    assert ep.meta.complete is False
    assert [a.kind for a in ep.actions()] == ["click"]
    assert any("torn last line" in w for w in ep.warnings)


def test_writer_refuses_to_overwrite_and_out_of_order_events(tmp_path):
    path = write_episode(tmp_path / "ep")
    with pytest.raises(FileExistsError):
        EpisodeWriter(path, EpisodeMeta("e", "desktop", "t", "i", Screen(8, 8)))
    w = EpisodeWriter(tmp_path / "ep2", EpisodeMeta("e", "desktop", "t", "i", Screen(8, 8)))
    w.add_event(Event(1.0, "key", key="a"))
    with pytest.raises(ValueError, match="earlier"):
        w.add_event(Event(0.5, "key", key="b"))


def _edit_line(path: Path, file: str, line: int, edit) -> None:
    lines = (path / file).read_text().splitlines()
    lines[line - 1] = edit(lines[line - 1])
    (path / file).write_text("\n".join(lines) + "\n")


def _problem(path: Path):
    with pytest.raises(RecordingError) as e:
        read_episode(path)
    return e.value


@pytest.mark.parametrize(
    "file, line, field, edit",
    [
        ("events.jsonl", 2, None, lambda s: s[: len(s) // 2]),  # truncated JSON line
        ("events.jsonl", 1, "x", lambda s: s.replace('"x": 10.0', '"x": "ten"')),  # wrong type
        ("events.jsonl", 3, "y", lambda s: json.dumps({k: v for k, v in json.loads(s).items() if k != "y"})),
        ("events.jsonl", 2, "x", lambda s: s.replace('"x": 17.0', '"x": NaN')),  # NaN coordinate
        ("events.jsonl", 2, "type", lambda s: s.replace('"click"', '"clack"')),
        ("events.jsonl", 3, "t", lambda s: s.replace('"t": 2.5', '"t": 0.1')),  # out of order in the file
        ("frames.jsonl", 2, "index", lambda s: s.replace('"index": 1', '"index": 7')),
    ],
)
def test_bad_lines_name_file_line_and_field(tmp_path, file, line, field, edit):
    path = write_episode(tmp_path / "ep", steps=4)
    _edit_line(path, file, line, edit)
    err = _problem(path)
    assert any(p.file.endswith(file) and p.line == line and p.field == field for p in err.problems), (
        err.problems
    )
    assert validate(path) == err.problems


def test_missing_frame_empty_episode_and_wrong_version(tmp_path):
    path = write_episode(tmp_path / "a", steps=3)
    (path / "frames" / "000001.png").unlink()
    assert _problem(path).file.endswith("frames/000001.png")

    path = write_episode(tmp_path / "b", steps=3)
    (path / "events.jsonl").write_text("")
    (path / "frames.jsonl").write_text("")
    files = {Path(p.file).name for p in _problem(path).problems}
    assert files == {"events.jsonl", "frames.jsonl"}

    path = write_episode(tmp_path / "c", steps=3)
    meta = json.loads((path / "meta.json").read_text())
    meta["format_version"] = 2
    del meta["task"]
    (path / "meta.json").write_text(json.dumps(meta))
    fields = {p.field for p in _problem(path).problems}
    assert {"format_version", "task"} <= fields


def test_action_before_first_frame_is_an_error(tmp_path):
    path = write_episode(tmp_path / "ep", steps=2)
    _edit_line(path, "frames.jsonl", 1, lambda s: s.replace('"t": 0.0', '"t": 0.9'))
    err = _problem(path)
    assert err.field == "t" and "before the first frame" in str(err)


def test_not_an_episode(tmp_path):
    with pytest.raises(RecordingError, match="meta.json"):
        read_episode(tmp_path)


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_keys = st.sampled_from(["t", "type", "x", "y", "button", "key", "text", "dx", "path", "intent", "zzz"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    file=st.sampled_from(["events.jsonl", "frames.jsonl", "intents.jsonl", "meta.json"]),
    line=st.integers(1, 4),
    mutation=st.one_of(
        st.tuples(st.just("set"), _keys, _values),
        st.tuples(st.just("cut"), st.integers(0, 60), st.none()),
        st.tuples(st.just("drop"), _keys, st.none()),
    ),
)
def test_fuzzed_recordings_raise_only_recording_error(tmp_path, file, line, mutation):
    """Whatever is broken, the reader raises RecordingError (never another type) or reads it whole."""
    path = tmp_path / "ep"
    shutil.rmtree(path, ignore_errors=True)
    write_episode(path, steps=3)
    text = (path / file).read_text()
    lines = text.splitlines() if file != "meta.json" else [text.replace("\n", " ")]
    line = min(line, len(lines))
    kind, key, value = mutation
    if kind == "cut":
        lines[line - 1] = lines[line - 1][:key]
    else:
        row = json.loads(lines[line - 1])
        if kind == "set":
            row[key] = value
        else:
            row.pop(key, None)
        lines[line - 1] = json.dumps(row)
    (path / file).write_text("\n".join(lines) + "\n")
    try:
        ep = read_episode(path)
    except RecordingError as e:
        assert e.problems and all(p.file for p in e.problems)
        return
    # Read whole: nothing may have been dropped, and every number is finite.
    assert len(ep.events) == 4 and len(ep.frames) == 4
    for a in ep.actions():
        assert all(math.isfinite(v) for v in (a.x, a.y, a.x2, a.y2, a.dx, a.dy, a.t))


def test_an_empty_line_inside_a_jsonl_file_is_a_problem_not_a_skipped_record(tmp_path):
    path = write_episode(tmp_path / "ep", steps=3)
    _edit_line(path, "events.jsonl", 2, lambda s: "")
    err = _problem(path)
    assert err.file.endswith("events.jsonl") and err.line == 2 and "empty line" in str(err)


def test_find_episodes_follows_links_reads_each_episode_once_and_ends_cycles(tmp_path):
    from act.recording import find_episodes

    write_episode(tmp_path / "elsewhere" / "ep", steps=2)
    root = tmp_path / "root"
    root.mkdir()
    (root / "a").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "b").symlink_to(tmp_path / "elsewhere", target_is_directory=True)  # the same episode again
    (root / "loop").symlink_to(root, target_is_directory=True)
    found = find_episodes(root)
    assert len(found) == 1 and found[0].name == "ep" and found[0].parent.parent == root
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordingError) as e:
        find_episodes(empty)
    assert e.value.file == str(empty / "meta.json")
    assert find_episodes(empty, required=False) == []


def test_validate_a_directory_checks_every_episode_and_unique_ids(tmp_path):
    from act.recording import validation_report

    write_episode(tmp_path / "a", steps=2, seed=1)
    write_episode(tmp_path / "b", steps=2, seed=2)
    assert validation_report(tmp_path).episodes == 2 and validate(tmp_path) == []
    write_episode(tmp_path / "c", steps=2, seed=1)  # same episode_id as a
    _edit_line(tmp_path / "b", "frames.jsonl", 1, lambda s: s.replace("}", ', "dt": 1}'))
    problems = validate(tmp_path)
    assert {(Path(p.file).parent.name, p.field) for p in problems} == {("c", "episode_id"), ("b", "dt")}
    with pytest.raises(RecordingError, match="episode_id"):
        from act.recording import find_episodes

        find_episodes(tmp_path)


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    import struct

    out, i = [], 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        out.append((data[i + 4 : i + 8], data[i + 8 : i + 8 + n]))
        i += 12 + n
    return out


def test_a_frame_that_passes_the_checksums_but_does_not_decode_raises_recording_error(tmp_path):
    """The reader checks PNG structure and CRCs (cheap), not pixels; decoding names the file."""
    import struct
    import zlib

    path = write_episode(tmp_path / "ep", steps=2)
    frame = path / "frames" / "000001.png"
    chunks = _png_chunks(frame.read_bytes())
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in chunks:
        if kind == b"IDAT":
            body = zlib.compress(b"\x07" * 50)  # filter type 7 does not exist, and the data is short
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    frame.write_bytes(out)
    ep = read_episode(path)  # a documented limit: validation does not decode pixels
    with pytest.raises(RecordingError) as e:
        ep.frame(1)
    assert e.value.file == str(frame) and "cannot be decoded" in str(e.value)
    from act.data import build_dataset  # the builder gives back the reader's error, not `datasets`' wrapper

    with pytest.raises(RecordingError) as e:
        build_dataset(path, tmp_path / "built", image_size=(30, 40))
    assert e.value.file == str(frame)
    assert not (tmp_path / "built").exists()


def test_documented_acceptances_are_counted_and_warned(tmp_path):
    from act.recording import validation_report

    path = write_episode(tmp_path / "ep", steps=3)
    meta = json.loads((path / "meta.json").read_text())
    (path / "meta.json").write_text(json.dumps({**meta, "complete": False}))
    rows = [
        {"t": 0.2, "type": "mouse_up", "x": 1, "y": 1, "button": "left"},  # press before the recording
        {"t": 0.5, "type": "click", "x": -4, "y": 500},  # outside the screen: clamped
        {"t": 1.5, "type": "mouse_down", "x": 3, "y": 3, "button": "right"},  # never released
    ]
    (path / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"t": 2')
    report = validation_report(path)
    assert report.ok, report.problems
    assert report.accepted == {
        "release_without_press": 1,
        "clamped_point": 1,
        "unreleased_press": 1,
        "torn_last_line": 1,
    }
    ep = read_episode(path)
    assert ep.accepted == dict(report.accepted) and len(ep.warnings) == 2
    assert [(a.kind, a.x, a.y) for a in ep.actions()] == [("click", 0.0, 120.0)]


def test_an_action_pairs_with_the_frame_before_it_not_its_own_press_frame():
    from act.recording import Action, pair_frames
    from act.recording.schema import Frame

    frames = [Frame(0, 0.0), Frame(1, 1.0), Frame(2, 2.0)]  # frame 1: grabbed at the first key's press
    actions = [Action("key", key="a", t=1.0), Action("key", key="b", t=1.5), Action("key", key="c", t=2.5)]
    assert [a.frame_index for a in pair_frames(actions, frames)] == [0, 1, 2]
    # with no earlier frame, the first frame at the action's own time
    assert [a.frame_index for a in pair_frames([Action("click", x=1, y=1, t=0.0)], frames)] == [0]
