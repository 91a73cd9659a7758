"""act-record on a real X server: Xvfb, a Tk window, input driven by xdotool, the recorder as a process."""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from act.recording import read_episode, validate

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

MISSING = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
if MISSING:
    pytest.skip(f"{' and '.join(MISSING)} not found (apt-get install xvfb xdotool)", allow_module_level=True)
if not all(importlib.util.find_spec(m) for m in ("mss", "pynput")):
    pytest.skip("the record extra is not installed: pip install 'act[record]'", allow_module_level=True)

WIDTH, HEIGHT = 1280, 800

# A window with a button and an entry; prints their centres (root coordinates), then what happens.
TK_APP = r"""
import json, sys, tkinter as tk
root = tk.Tk()
root.geometry("360x200+40+30")
button = tk.Button(root, text="OK", width=10, command=lambda: print("clicked", flush=True))
button.place(x=20, y=20)
entry = tk.Entry(root, width=20)
entry.place(x=20, y=100)
entry.bind("<KeyRelease>", lambda e: print("text", json.dumps(entry.get()), flush=True))
def ready():
    root.update_idletasks()
    c = lambda w: [w.winfo_rootx() + w.winfo_width() // 2, w.winfo_rooty() + w.winfo_height() // 2]
    print("ready", json.dumps({"button": c(button), "entry": c(entry)}), flush=True)
root.after(300, ready)
root.mainloop()
"""


class Lines:
    """Lines of a child's stream, read in a thread, so a test can wait for one with a timeout."""

    def __init__(self, stream):
        self.q: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=lambda: [self.q.put(line) for line in stream], daemon=True).start()

    def wait_for(self, prefix: str, timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting {prefix!r} within {timeout} s; got {self.seen}")

    def drain(self) -> list[str]:
        time.sleep(0.3)
        while not self.q.empty():
            self.seen.append(self.q.get())
        return self.seen


def start_xvfb(*extra: str) -> tuple[subprocess.Popen, str]:
    """Xvfb on a free display number (it picks one and tells us through -displayfd)."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{WIDTH}x{HEIGHT}x24",
            "-nolisten",
            "tcp",
            *extra,
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start")
    return proc, f":{number}"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def display():
    proc, name = start_xvfb("+extension", "RECORD")
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env["DISPLAY"] = name
    yield env
    stop(proc)


@pytest.fixture(scope="module")
def app(display):
    proc = subprocess.Popen([sys.executable, "-c", TK_APP], env=display, stdout=subprocess.PIPE, text=True)
    out = Lines(proc.stdout)
    geometry = json.loads(out.wait_for("ready").split(" ", 1)[1])
    yield geometry, out
    stop(proc)


def xdo(env: dict, *args: str) -> None:
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=10)


class RecorderProcess:
    """``act-record`` as a child process, started and listening; killed at teardown if still running."""

    running: list[subprocess.Popen] = []

    def __init__(self, env: dict, out: Path, *args: str):
        cmd = [
            sys.executable,
            "-m",
            "act.cli.record",
            "--out",
            str(out),
            "--task",
            "FillForm",
            "--instruction",
            "press OK and type hi",
            "--duration",
            "60",
            *args,
        ]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.running.append(self.proc)
        self.err = Lines(self.proc.stderr)
        self.err.wait_for("act-record: recording started.")

    def result(self, timeout: float = 20.0) -> dict:
        rc = self.proc.wait(timeout=timeout)
        stdout = self.proc.stdout.read()
        assert rc == 0, f"act-record exited {rc}: {self.err.drain()}"
        return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True, scope="module")
def _kill_leftover_recorders():
    yield
    for proc in RecorderProcess.running:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def session(display, app, tmp_path_factory):
    """One recording: click OK, click the entry, type 'hi', drag, scroll; stopped by the hotkey."""
    geometry, app_out = app
    out = tmp_path_factory.mktemp("recordings")
    rec = RecorderProcess(display, out, "--fps", "5")
    (bx, by), (ex, ey) = geometry["button"], geometry["entry"]
    xdo(display, "mousemove", str(bx), str(by))
    time.sleep(0.3)
    xdo(display, "click", "1")
    time.sleep(0.5)
    xdo(display, "mousemove", str(ex), str(ey))
    time.sleep(0.2)
    xdo(display, "click", "1")
    time.sleep(0.3)
    xdo(display, "type", "--delay", "80", "hi")
    time.sleep(0.3)
    xdo(display, "mousemove", "600", "500", "mousedown", "1")
    for step in range(1, 6):
        xdo(display, "mousemove", str(600 + 20 * step), str(500 + 10 * step))
        time.sleep(0.03)
    xdo(display, "mouseup", "1")
    time.sleep(0.3)
    xdo(display, "mousemove", "900", "300", "click", "5")  # wheel down
    time.sleep(0.5)
    xdo(display, "key", "ctrl+shift+q")
    summary = rec.result()
    return Path(summary["episode"]), summary, geometry, app_out.drain()


def test_the_input_reached_the_window(session):
    """xdotool really clicked the button and typed into the entry (else the rest proves nothing)."""
    *_, app_lines = session
    assert "clicked\n" in app_lines
    assert 'text "hi"\n' in app_lines


def test_recorded_episode_is_valid_and_complete(session):
    path, summary, *_ = session
    assert validate(path) == []
    ep = read_episode(path)
    assert ep.meta.complete and ep.meta.source == "desktop" and ep.meta.task == "FillForm"
    assert (ep.meta.screen.width, ep.meta.screen.height, ep.meta.screen.scale) == (WIDTH, HEIGHT, 1.0)
    assert summary["stopped_by"] == "hotkey" and summary["frames"] == len(ep.frames)
    assert ep.frame(0).shape == (HEIGHT, WIDTH, 3)


def test_raw_events_positions_order_and_types(session):
    path, _, geometry, _ = session
    ep = read_episode(path)
    (bx, by), (ex, ey) = geometry["button"], geometry["entry"]
    times = [e.t for e in ep.events]
    assert times == sorted(times) and times[0] >= 0
    presses = [e for e in ep.events if e.type != "mouse_move"]
    assert [(e.type, e.button or e.key) for e in presses] == [
        ("mouse_down", "left"),
        ("mouse_up", "left"),
        ("mouse_down", "left"),
        ("mouse_up", "left"),
        ("key_down", "h"),
        ("key_up", "h"),
        ("key_down", "i"),
        ("key_up", "i"),
        ("mouse_down", "left"),
        ("mouse_up", "left"),
        ("scroll", None),
    ]
    assert (presses[0].x, presses[0].y) == (bx, by)
    assert (presses[2].x, presses[2].y) == (ex, ey)
    assert (presses[8].x, presses[8].y, presses[9].x, presses[9].y) == (600, 500, 700, 550)
    assert (presses[10].x, presses[10].y, presses[10].dy) == (900, 300, -1)
    drag_moves = [e for e in ep.events if e.type == "mouse_move" and presses[8].t <= e.t <= presses[9].t]
    assert len(drag_moves) >= 3, "the drag's path was not recorded"
    # The stop hotkey (ctrl+shift+q) left no trace.
    assert not any(e.key in ("q", "Q", "ctrl", "shift") for e in ep.events)


def test_merged_actions_and_a_frame_before_each_click(session):
    path, _, geometry, _ = session
    ep = read_episode(path)
    (bx, by), (ex, ey) = geometry["button"], geometry["entry"]
    actions = [a for a in ep.actions() if a.kind != "wait"]
    assert [a.kind for a in actions] == ["click", "click", "key", "key", "drag", "scroll"]
    assert (actions[0].x, actions[0].y) == (bx, by)
    assert (actions[1].x, actions[1].y) == (ex, ey)
    assert [a.key for a in actions[2:4]] == ["h", "i"]
    assert (actions[4].x, actions[4].y, actions[4].x2, actions[4].y2) == (600, 500, 700, 550)
    assert actions[5].dy == -1
    downs = [e for e in ep.events if e.type in ("mouse_down", "key_down")]
    frame_times = {f.t for f in ep.frames}
    for e in downs:
        assert e.t in frame_times, f"no frame captured at the {e.type} at t={e.t}"
    for a in actions:
        frame = ep.frames[a.frame_index]
        assert frame.t < a.t  # the screen before the press: its own frame may already show it
    # a press's own frame is what the next action sees: the second key sees the first's press frame,
    # or a periodic frame grabbed after it (never one from before the first key)
    first_key, second_key = actions[2], actions[3]
    assert first_key.t <= ep.frames[second_key.frame_index].t < second_key.t
    # The frame for the click on OK shows the window (not a blank screen) around the button.
    image = ep.frame(actions[0].frame_index)
    assert image[by - 5 : by + 5, bx - 20 : bx + 20].std() > 0


def test_recording_goes_through_the_data_stage(session, tmp_path):
    from act.data import ChunkDataset, build_dataset
    from act.spaces import KIND_ID

    path, *_ = session
    actions = read_episode(path).actions()
    info = build_dataset([path], tmp_path / "ds", image_size=(100, 160))
    assert info.num_episodes == 1 and info.num_steps == len(actions) and info.sources == {"desktop": 1}
    ds = ChunkDataset(tmp_path / "ds", chunk_size=4)
    assert len(ds) == len(actions)
    for i, a in enumerate(actions):
        sample = ds[i]
        assert sample["image"].shape == (3, 100, 160)
        assert int(sample["kind"][0]) == KIND_ID[a.kind]
        if a.kind in ("click", "drag"):
            x, y = sample["point"][0].tolist()
            assert abs(x - a.x / WIDTH) < 1e-4 and abs(y - a.y / HEIGHT) < 1e-4
        if a.kind == "key":
            assert info.space.keys.token(int(sample["key"][0])) == a.key


def test_redact_typing_and_a_custom_stop_key(display, app, tmp_path):
    geometry, _ = app
    rec = RecorderProcess(display, tmp_path, "--redact-typing", "--stop-key", "F12")
    ex, ey = geometry["entry"]
    xdo(display, "mousemove", str(ex), str(ey), "click", "1")
    xdo(display, "type", "--delay", "50", "pw")
    xdo(display, "key", "Return")
    time.sleep(0.3)
    xdo(display, "key", "F12")
    ep = read_episode(rec.result()["episode"])
    keys = [a.key for a in ep.actions() if a.kind == "key"]
    assert keys == ["*", "*", "enter"]
    assert not any(e.key in ("p", "w", "f12") for e in ep.events)
    assert ep.meta.extra["recorder"]["redact_typing"] is True


def test_ctrl_c_stops_cleanly_and_is_not_recorded(display, tmp_path):
    rec = RecorderProcess(display, tmp_path)
    xdo(display, "mousemove", "200", "200", "click", "1")
    xdo(display, "key", "ctrl+c")  # the key a user presses in the terminal ...
    rec.proc.send_signal(signal.SIGINT)  # ... and the signal the terminal sends
    summary = rec.result()
    assert summary["stopped_by"] == "sigint"
    ep = read_episode(summary["episode"])
    assert ep.meta.complete
    assert [a.kind for a in ep.actions() if a.kind != "wait"] == ["click"]


def test_a_killed_recorder_leaves_a_valid_incomplete_episode(display, tmp_path):
    rec = RecorderProcess(display, tmp_path)
    xdo(display, "mousemove", "300", "300", "click", "1")
    xdo(display, "type", "ab")
    time.sleep(0.8)
    rec.proc.kill()
    rec.proc.wait(timeout=10)
    path = tmp_path / "ep_000001"
    assert validate(path) == []
    ep = read_episode(path)
    assert not ep.meta.complete
    assert [a.kind for a in ep.actions() if a.kind != "wait"] == ["click", "key", "key"]


def test_an_x_server_without_record_is_reported(tmp_path):
    proc, name = start_xvfb("-extension", "RECORD")
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
        args = ["--out", str(tmp_path), "--task", "T", "--instruction", "x"]
        result = subprocess.run(
            [sys.executable, "-m", "act.cli.record", *args],
            env={**env, "DISPLAY": name},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1 and "RECORD extension" in result.stderr
        gone = subprocess.run(
            [sys.executable, "-m", "act.cli.record", *args],
            env={**env, "DISPLAY": ":4093"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert gone.returncode == 1 and "cannot open the X display" in gone.stderr
    finally:
        stop(proc)
    assert list(tmp_path.iterdir()) == []
