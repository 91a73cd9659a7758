"""Desktop recorder without a display: key names, hotkeys, the recording engine with a fake screen."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from act.recorder import (
    REDACTED,
    Hotkey,
    RecordConfig,
    Recorder,
    RecorderError,
    Region,
    key_token,
    next_episode_dir,
    parse_region,
    record,
    redact,
)
from act.recording import EpisodeMeta, EpisodeWriter, Screen, read_episode, validate


class FakeScreen:
    """A still region of ``scale``-times-denser pixels (physical = logical * scale)."""

    def __init__(self, width: int, height: int, scale: int = 1, fail: bool = False):
        self.size = (width * scale, height * scale)
        self.fail = fail

    def grab(self) -> tuple[int, int, bytes]:
        if self.fail:
            raise OSError("no screen here")
        w, h = self.size
        return w, h, bytes([7, 0, 255, 0]) * (w * h)  # BGRA: red channel 255

    def close(self) -> None:
        pass


def make_recorder(tmp_path: Path, screen: FakeScreen | None = None, region: Region | None = None, **kwargs):
    region = region or Region(0, 0, 80, 60)
    meta = EpisodeMeta("ep", "desktop", "T", "do it", Screen(region.width, region.height))
    writer = EpisodeWriter(tmp_path / "ep", meta)
    screen = screen or FakeScreen(region.width, region.height)
    kwargs.setdefault("hotkey", Hotkey.parse("ctrl+shift+q"))
    return Recorder(writer, region, lambda: screen, **kwargs), writer


def finish(rec: Recorder, writer: EpisodeWriter):
    stats = rec.close()
    writer.finish(success=None, recording=stats)
    assert validate(writer.path) == []
    return read_episode(writer.path), stats


def raw(ep) -> list[tuple]:
    return [(e.type, e.key or e.button) for e in ep.events if e.type != "mouse_move"]


# ---- keys ------------------------------------------------------------------------------------------


def test_key_token_names_pynput_keys_as_format_tokens():
    assert key_token(SimpleNamespace(name="ctrl_l")) == "ctrl"
    assert key_token(SimpleNamespace(name="enter")) == "enter"
    assert key_token(SimpleNamespace(name="esc")) == "escape"
    assert key_token(SimpleNamespace(name="space")) == " "
    assert key_token(SimpleNamespace(char="A")) == "A"
    assert key_token(SimpleNamespace(char="\x13")) == "s"  # ctrl+s as macOS/Windows report it
    assert key_token(SimpleNamespace(char=None, vk=65027)) == "vk65027"


def test_redact_hides_typed_characters_but_keeps_named_keys_and_shortcuts():
    assert redact("a", set()) == REDACTED
    assert redact("A", {"shift"}) == REDACTED
    assert redact(" ", set()) == REDACTED
    assert redact("enter", set()) == "enter"
    assert redact("c", {"ctrl"}) == "c"


def test_hotkey_parse_and_match():
    hk = Hotkey.parse("Ctrl+Shift+Q")
    assert hk == Hotkey(frozenset({"ctrl", "shift"}), "q") and str(hk) == "ctrl+shift+q"
    assert hk.matches("Q", {"ctrl", "shift"})
    assert not hk.matches("q", {"ctrl"})
    assert not hk.matches("q", {"ctrl", "shift", "alt"})
    assert Hotkey.parse("F12").matches("f12", set())
    for bad in ("", "ctrl+", "q+ctrl", "ctrl+shift", "hyper+q"):
        with pytest.raises(ValueError, match="stop key"):
            Hotkey.parse(bad)


def test_parse_region_and_episode_numbering(tmp_path):
    assert parse_region("10, 20,300,200") == (10, 20, 300, 200)
    for bad in ("1,2,3", "a,b,c,d", "0,0,0,10"):
        with pytest.raises(ValueError, match="region"):
            parse_region(bad)
    assert next_episode_dir(tmp_path / "out").name == "ep_000001"
    (tmp_path / "out" / "ep_000007").mkdir()
    assert next_episode_dir(tmp_path / "out").name == "ep_000008"


# ---- the engine --------------------------------------------------------------------------------------


def test_events_are_region_local_and_each_press_gets_a_frame_at_its_time(tmp_path):
    rec, writer = make_recorder(tmp_path, region=Region(100, 50, 80, 60))
    rec.start()
    rec.on_move(500, 500)  # outside the region, no button held: not recorded
    rec.on_move(110, 70)
    rec.on_click(110, 70, "left", True)
    rec.on_click(110, 70, "left", False)
    rec.on_click(5, 5, "left", True)  # outside: ignored, and so is its release
    rec.on_click(5, 5, "left", False)
    rec.on_scroll(150, 90, 0, -2)
    rec.on_scroll(0, 0, 0, 1)  # outside: ignored
    ep, stats = finish(rec, writer)
    assert [(e.type, e.x, e.y) for e in ep.events] == [
        ("mouse_move", 10.0, 20.0),
        ("mouse_down", 10.0, 20.0),
        ("mouse_up", 10.0, 20.0),
        ("scroll", 50.0, 40.0),
    ]
    assert stats["ignored_outside_region"] == 2
    down = ep.events[1]
    assert any(f.t == down.t for f in ep.frames), "no frame captured at the press"
    click, scroll = ep.actions()
    assert (click.kind, click.x, click.y) == ("click", 10.0, 20.0)
    # the click pairs with the frame before its press (the press's own frame may show its effect)
    assert ep.frames[click.frame_index].t < down.t
    assert (scroll.kind, scroll.dy) == ("scroll", -2.0)
    assert ep.frame(0).shape == (60, 80, 3) and (ep.frame(0)[..., 0] == 255).all()


def test_stop_hotkey_is_never_recorded_but_other_chords_are(tmp_path):
    rec, writer = make_recorder(tmp_path)
    rec.start()
    for key, down in [
        ("ctrl", True),
        ("s", True),
        ("s", False),
        ("ctrl", False),
        ("shift", True),
        ("A", True),
        ("A", False),
        ("shift", False),
        ("ctrl", True),
        ("shift", True),
    ]:
        rec.on_key(key, down)
    rec.on_key("Q", True)
    assert rec.stopped and rec.stop_reason == "hotkey"
    rec.on_key("Q", False)
    rec.on_key("ctrl", False)
    ep, stats = finish(rec, writer)
    assert raw(ep) == [
        ("key_down", "ctrl"),
        ("key_down", "s"),
        ("key_up", "s"),
        ("key_up", "ctrl"),
        ("key_down", "shift"),
        ("key_down", "A"),
        ("key_up", "A"),
        ("key_up", "shift"),
    ]
    assert [a.key for a in ep.actions()] == ["ctrl+s", "A"]
    assert stats["stopped_by"] == "hotkey"


def test_redact_typing_and_orphan_releases(tmp_path):
    rec, writer = make_recorder(tmp_path, redact_typing=True, hotkey=Hotkey.parse("f12"))
    rec.start()
    rec.on_key("enter", False)  # the Enter that launched the recorder: released, never pressed here
    for key in ("p", "w", "enter"):
        rec.on_key(key, True)
        rec.on_key(key, False)
    rec.on_key("f12", True)
    ep, _ = finish(rec, writer)
    assert [a.key for a in ep.actions()] == [REDACTED, REDACTED, "enter"]
    assert not any(e.key in ("p", "w", "f12") for e in ep.events)


def test_ctrl_c_is_dropped_when_sigint_follows_and_kept_otherwise(tmp_path):
    rec, writer = make_recorder(tmp_path, interrupt_grace=0.3)
    rec.start()
    rec.on_key("x", True)
    rec.on_key("ctrl", True)  # a ctrl+c copy in an app: no SIGINT follows
    rec.on_key("c", True)
    rec.on_key("c", False)
    rec.on_key("ctrl", False)
    time.sleep(0.5)
    rec.flush_stale()
    rec.on_key("ctrl", True)  # Ctrl-C in the terminal: the SIGINT arrives
    rec.on_key("c", True)
    rec.stop("sigint")
    ep, stats = finish(rec, writer)
    assert [a.key for a in ep.actions() if a.kind == "key"] == ["x", "ctrl+c"]
    assert stats["stopped_by"] == "sigint"


def test_events_from_several_threads_stay_time_ordered(tmp_path):
    rec, writer = make_recorder(tmp_path, region=Region(0, 0, 200, 200), move_interval=0.0)
    rec.start()

    def mouse():
        for i in range(300):
            rec.on_move(i % 200, 10)

    def keys():
        for i in range(100):
            rec.on_key("abc"[i % 3], True)
            rec.on_key("abc"[i % 3], False)

    threads = [threading.Thread(target=f) for f in (mouse, keys)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    ep, stats = finish(rec, writer)
    times = [e.t for e in ep.events]
    assert times == sorted(times) and len(times) == 500 == stats["events"]
    frame_times = [f.t for f in ep.frames]
    assert frame_times == sorted(frame_times)


def test_unchanged_periodic_frames_are_skipped_unless_asked(tmp_path):
    still, _ = make_recorder(tmp_path / "a", fps=20)
    still.start()
    time.sleep(0.6)
    still.on_key("a", True)
    _, stats = finish(still, _)
    assert stats["periodic_frames"] == 1 and stats["skipped_unchanged"] >= 3 and stats["press_frames"] == 1
    kept, w = make_recorder(tmp_path / "b", fps=20, keep_unchanged=True)
    kept.start()
    time.sleep(0.6)
    kept.on_key("a", True)
    ep, stats = finish(kept, w)
    assert stats["skipped_unchanged"] == 0 and stats["periodic_frames"] >= 4
    assert len(ep.frames) == stats["frames"] == stats["periodic_frames"] + 1


# ---- a whole session -------------------------------------------------------------------------------


class ScriptedInput:
    """Plays input into the recorder from its own thread, like pynput does."""

    def __init__(self, rec: Recorder, script):
        self.thread = threading.Thread(target=script, args=(rec,), daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.join(timeout=5)


def test_record_session_hidpi_scale_and_duration(tmp_path):
    """Physical frames at 2x, events in logical pixels: the episode says scale 2 and merges logically."""
    region = Region(300, 200, 80, 60)

    def script(rec):
        rec.on_move(340, 230)
        rec.on_click(340, 230, "left", True)
        rec.on_click(340, 230, "left", False)

    cfg = RecordConfig(out=tmp_path / "out", task="T", instruction="click", fps=10, duration=0.5)
    log = tmp_path / "log.txt"
    with log.open("w") as f:
        result = record(
            cfg,
            log=f,
            probe=lambda r: (region, 160, 120),
            screen_factory=lambda r: FakeScreen(80, 60, scale=2),
            input_factory=lambda rec: ScriptedInput(rec, script),
        )
    assert result.path == tmp_path / "out" / "ep_000001"
    assert validate(result.path) == []
    ep = read_episode(result.path)
    assert ep.meta.source == "desktop" and ep.meta.complete
    assert ep.meta.screen == Screen(80, 60, 2.0, "logical")
    assert ep.frame(0).shape == (120, 160, 3)
    (click,) = ep.actions()
    assert (click.kind, click.x, click.y) == ("click", 40.0, 30.0)
    assert result.stats["stopped_by"] == "duration" and result.stats["duration_s"] >= 0.5
    text = log.read_text()
    assert "RECORDING" in text and str(result.path) in text and "ctrl+shift+q" in text


def test_record_leaves_nothing_when_the_screen_cannot_be_grabbed_or_nothing_happened(tmp_path):
    cfg = RecordConfig(out=tmp_path / "out", task="T", instruction="x", duration=0.3)
    region = Region(0, 0, 8, 6)
    fakes = {
        "log": open(os.devnull, "w"),
        "probe": lambda r: (region, 8, 6),
        "input_factory": lambda rec: ScriptedInput(rec, lambda rec: None),
    }
    with pytest.raises(RecorderError, match="could not capture the screen: no screen here"):
        record(cfg, screen_factory=lambda r: FakeScreen(8, 6, fail=True), **fakes)
    with pytest.raises(RecorderError, match="no mouse or keyboard input"):
        record(cfg, screen_factory=lambda r: FakeScreen(8, 6), **fakes)
    assert list((tmp_path / "out").iterdir()) == []


def test_cli_without_a_display_says_what_is_missing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    args = [
        sys.executable,
        "-m",
        "act.cli.record",
        "--out",
        str(tmp_path),
        "--task",
        "T",
        "--instruction",
        "x",
    ]
    if not sys.platform.startswith("linux"):
        pytest.skip("the DISPLAY check is the X11 one")
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "no X display: DISPLAY is not set" in proc.stderr and "xvfb-run" in proc.stderr
    wayland = subprocess.run(
        args, env={**env, "WAYLAND_DISPLAY": "wayland-0"}, capture_output=True, text=True, timeout=60
    )
    assert wayland.returncode == 1 and "Wayland" in wayland.stderr and "X11" in wayland.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_button_held_at_the_stop_is_released_there_and_the_episode_stays_valid(tmp_path):
    """Stopping mid-drag used to write an unreleased press, which the reader refuses in a complete
    episode; the recorder now releases it where the pointer was, and the drag is kept."""
    from act.recording import validate

    rec, writer = make_recorder(tmp_path, region=Region(0, 0, 200, 200), move_interval=0.0)
    rec.start()
    rec.on_click(20, 30, "left", True)
    rec.on_move(80, 90)
    rec.stop("hotkey")
    ep, stats = finish(rec, writer)
    ups = [e for e in ep.events if e.type == "mouse_up"]
    assert len(ups) == 1 and (ups[0].x, ups[0].y, ups[0].button) == (80, 90, "left")
    assert stats["released_at_stop"] == 1
    assert [a.kind for a in ep.actions()] == ["drag"]
    assert validate(ep.path) == []
