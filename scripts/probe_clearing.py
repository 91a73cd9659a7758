"""Does a policy read whether a text field is empty? Its key head on recorded frames of a field cleared.

    .venv/bin/python scripts/probe_clearing.py <run>/policies/best [...] --recordings DIR [--episodes 30]

In each recorded episode under ``--recordings`` (an act-record or act-generate folder, for example
the desktop app's Export recordings) that clears a field with backspaces and then types, three
frames are probed: the ones paired with the last two backspaces (one and two characters left) and
with the first typed character (the field empty). Each goes through the policy once as the step
after a key (previous kind key, typed count 0, what training gave those steps); the probe prints
the mean P(kind key), P(backspace) and P(the character the expert typed) per frame. A policy that
reads the field gives backspace most of the probability on the first two and the character on the
last; one that does not gives the same numbers to all three (docs/experiments.md#desktop-kind-copy).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from act.data.build import find_episodes
from act.policy.modeling_act import ACTPolicy
from act.recording.io import read_episode
from act.spaces.action_space import KIND_ID

FRAMES = ("two characters left", "one character left", "empty (the first character)")


def cases(recordings: str, episodes: int) -> list[tuple[np.ndarray, str, str, str]]:
    """(frame (H, W, 3), instruction, which frame, the expert's key) for each probed frame."""
    out = []
    for path in find_episodes(recordings):
        episode = read_episode(path, check_frames=False)
        actions = episode.actions()
        keys = [a.key if a.kind == "key" else None for a in actions]
        first = next((i for i, k in enumerate(keys) if k not in (None, "backspace")), None)
        if first is None or first < 2 or keys[first - 2 : first] != ["backspace", "backspace"]:
            continue  # no field cleared with backspaces right before the typing
        for label, i in zip(FRAMES, (first - 2, first - 1, first)):
            frame = Image.open(Path(path) / "frames" / f"{actions[i].frame_index:06d}.png").convert("RGB")
            out.append((np.asarray(frame), episode.meta.instruction, label, keys[i]))
        if len(out) >= 3 * episodes:
            break
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("policies", nargs="+")
    p.add_argument("--recordings", required=True)
    p.add_argument("--episodes", type=int, default=30)
    args = p.parse_args(argv)
    probed = cases(args.recordings, args.episodes)
    if not probed:
        print(
            f"no episode under {args.recordings} clears a field with backspaces and then types",
            file=sys.stderr,
        )
        return 1
    for path in args.policies:
        policy = ACTPolicy.from_pretrained(path).eval()
        keys = policy.action_space.keys
        rows: dict[str, list[tuple[float, float, float]]] = {label: [] for label in FRAMES}
        for frame, instruction, label, key in probed:
            image, ids = policy._observation({"screen": frame, "instruction": instruction})
            plan = policy.predict_chunk_batch(
                image, ids, torch.tensor([0]), torch.tensor([1 + KIND_ID["key"]])
            )
            kind, key_probs = plan["kind_probs"][0, 0], plan["key_probs"][0, 0]  # step 0
            typed = float(key_probs[keys.id(key)]) if key != "backspace" else float("nan")
            rows[label].append((float(kind[KIND_ID["key"]]), float(key_probs[keys.id("backspace")]), typed))
        print(path)
        for label, values in rows.items():
            a = np.array(values)
            char = "" if np.isnan(a[:, 2]).all() else f"  P(the expert's character) {np.nanmean(a[:, 2]):.2f}"
            probs = f"P(key) {a[:, 0].mean():.2f}  P(backspace) {a[:, 1].mean():.2f}"
            print(f"  {label:30s} n={len(a)}  {probs}{char}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
