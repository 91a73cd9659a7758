"""CPU use and frames/s of act-record on a 1280x800 Xvfb screen (needs Xvfb, xdotool, the record extra).

    python scripts/bench_record.py [--seconds 10] [--fps 5] [--json out.json]

Three scenes, each recorded for ``--seconds`` by a separate ``act-record`` process:
  static   an idle screen (periodic frames that did not change are skipped);
  moving   a full-screen animation, so every periodic frame is new and encoded;
  typing   the animation plus ~5 key presses a second (a frame at every press).
CPU = the recorder's process CPU time while recording / wall time (100% = one core); "whole"
adds interpreter start-up and imports. Figures go to stdout, and to --json if given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

WIDTH, HEIGHT = 1280, 800

ANIMATION = r"""
import tkinter as tk
root = tk.Tk()
root.geometry("1280x800+0+0")
canvas = tk.Canvas(root, width=1280, height=800, bg="white", highlightthickness=0)
canvas.pack()
box = canvas.create_rectangle(0, 300, 120, 420, fill="steelblue")
label = canvas.create_text(640, 100, text="0", font=("Helvetica", 32))
n = [0]
def tick():
    n[0] += 1
    canvas.move(box, 8 if (n[0] // 140) % 2 == 0 else -8, 0)
    canvas.itemconfigure(label, text=str(n[0]))
    root.after(33, tick)
root.after(33, tick)
root.mainloop()
"""


def start_xvfb() -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        return proc, ":" + f.readline().strip()


def run_scene(env: dict, scene: str, seconds: float, fps: float, out: str) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "act.cli.record",
        "--out",
        out,
        "--task",
        "Bench",
        "--instruction",
        scene,
        "--fps",
        str(fps),
        "--duration",
        str(seconds),
    ]
    rec = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait for "recording started." before giving input.
    for line in rec.stderr:
        if line.startswith("act-record: recording started."):
            break
    subprocess.run(
        ["xdotool", "mousemove", "700", "450", "click", "1"], env=env, check=True
    )  # an episode needs input
    if scene == "typing":
        end = time.monotonic() + seconds - 1.0
        while time.monotonic() < end:
            subprocess.run(["xdotool", "type", "--delay", "0", "a"], env=env, check=True)
            time.sleep(0.2)
    _, status, usage = os.wait4(rec.pid, 0)
    rec.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = rec.stdout.read(), rec.stderr.read()
    if rec.returncode != 0:
        raise SystemExit(f"act-record failed ({rec.returncode}): {stderr}")
    s = json.loads(stdout.strip().splitlines()[-1])
    wall = s["duration_s"]
    return {
        "scene": scene,
        "seconds": wall,
        "frames": s["frames"],
        "frames_per_s": round(s["frames"] / wall, 2),
        "press_frames": s["press_frames"],
        "skipped_unchanged": s["skipped_unchanged"],
        "dropped_frames": s["dropped_frames"],
        "cpu_percent": round(100 * s["cpu_s"] / wall, 1),
        "cpu_percent_whole": round(100 * (usage.ru_utime + usage.ru_stime) / wall, 1),
        "press_frame_lag_ms": s.get("press_frame_lag_ms"),
        "mb_per_min": round(_size(s["episode"]) / 1e6 * 60 / wall, 1),
    }


def _size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--fps", type=float, default=5.0, help="act-record's --fps (5 is its default)")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args()
    xvfb, display = start_xvfb()
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env["DISPLAY"] = display
    results, anim = [], None
    try:
        with tempfile.TemporaryDirectory() as out:
            results.append(run_scene(env, "static", args.seconds, args.fps, out))
            anim = subprocess.Popen([sys.executable, "-c", ANIMATION], env=env)
            time.sleep(1.0)
            results.append(run_scene(env, "moving", args.seconds, args.fps, out))
            results.append(run_scene(env, "typing", args.seconds, args.fps, out))
    finally:
        if anim is not None:
            anim.terminate()
        xvfb.terminate()
    print(f"act-record on a {WIDTH}x{HEIGHT} Xvfb screen, --fps {args.fps:g}, {os.cpu_count()} CPUs")
    print(
        f"{'scene':<8} {'frames/s':>8} {'CPU %':>6} {'whole %':>7} {'press':>5} {'skipped':>7} "
        f"{'dropped':>7} {'lag ms':>11} {'MB/min':>7}"
    )
    for r in results:
        lag = r["press_frame_lag_ms"]
        lag_text = f"{lag['mean']:.1f}/{lag['max']:.1f}" if lag else "-"
        print(
            f"{r['scene']:<8} {r['frames_per_s']:>8.2f} {r['cpu_percent']:>6.1f} "
            f"{r['cpu_percent_whole']:>7.1f} "
            f"{r['press_frames']:>5} {r['skipped_unchanged']:>7} {r['dropped_frames']:>7} {lag_text:>11} "
            f"{r['mb_per_min']:>7.1f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"width": WIDTH, "height": HEIGHT, "fps": args.fps, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
