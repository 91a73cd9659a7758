"""A toy for open-vocabulary reading: three random lowercase words on a 160 x 48 screen, the
instruction 'Click "<one of them>".', the click on that word. Every batch draws new words, so the
success it reports is success on words the policy never saw.

    .venv/bin/python scripts/toy_reading.py --reading rendered [--steps 1000 --batch 32 --seed 0]

``--reading vocab`` is the control: no vocabulary can name random words, so it trains without
reading targets and must match instruction bytes to pixels by attention alone. Prints the training
hit rate every 100 steps, then the share of 60 fresh episodes (select_action, as act-eval runs a
policy) whose click lands on the named word; chance is about one in three.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from act.data.chunks import chunk_window  # noqa: E402
from act.data.reading import cell_spans  # noqa: E402
from act.policy import ACTConfig, ACTPolicy  # noqa: E402
from act.recording.schema import Action  # noqa: E402
from act.spaces.action_space import ActionSpace  # noqa: E402
from act.spaces.spans import SPAN_FONT_PX, font  # noqa: E402
from act.spaces.vocab import encode_bytes  # noqa: E402

H, W = 48, 160
LETTERS = list("abcdefghijklmnopqrstuvwxyz")


def word(rng: np.random.Generator) -> str:
    return "".join(rng.choice(LETTERS, int(rng.integers(3, 6))))


def episode(rng: np.random.Generator, config: ACTConfig, space: ActionSpace):
    """(training sample, instruction, screen, the named word's box)."""
    words, target = [word(rng) for _ in range(3)], int(rng.integers(3))
    im = Image.new("RGB", (W, H), (235, 235, 235))
    draw, f = ImageDraw.Draw(im), font(SPAN_FONT_PX)
    boxes = []
    for i, w in enumerate(words):
        x, y = 4 + 52 * i + int(rng.integers(0, 10)), 8 + int(rng.integers(0, 24))
        draw.text((x, y), w, font=f, fill=(20, 20, 20))
        boxes.append((x, y, x + f.getlength(w), y + 12))
    screen = np.asarray(im)
    x0, y0, x1, y1 = boxes[target]
    arrays = space.encode([Action("click", x=(x0 + x1) / 2, y=(y0 + y1) / 2)], W, H)
    arrays["target"] = np.array([[x0 / W, y0 / H, x1 / W, y1 / H]], np.float32)
    arrays.update(copy=np.full(1, -1, np.int64), typed=np.zeros(1, np.int64), prev_kind=np.zeros(1, np.int64))
    sample = chunk_window(arrays, 0, 1, 1)
    text = f'Click "{words[target]}".'
    sample.update(
        image=torch.from_numpy(screen.transpose(2, 0, 1).copy()),
        instruction=torch.zeros(4, dtype=torch.long),
        instruction_bytes=torch.tensor(encode_bytes(text)),
        intent=torch.tensor(0),
    )
    if config.reading == "rendered":
        elements = [{"role": "button", "name": w, "bbox": b} for w, b in zip(words, boxes)]
        spans = cell_spans(elements, W, H, config.pointer_cells(), (H, W), text)
        sample["cell_spans"] = torch.from_numpy(spans)
    return sample, text, screen, boxes[target]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reading", choices=("rendered", "vocab"), default="rendered")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    config = ACTConfig(  # all_tasks' backbone and pointer grid, one-step chunks
        image_size=(H, W),
        convnet_channels=(24, 48, 96, 128),
        convnet_strides=(2, 2, 2, 2),
        pointer_stride=8,
        dim_model=128,
        n_heads=8,
        dim_feedforward=512,
        n_encoder_layers=2,
        n_decoder_layers=1,
        use_vae=False,
        chunk_size=1,
        dropout=0.0,
        instruction_encoding="chars",
        reading=args.reading,
    )
    space = ActionSpace.from_json(config.action_space)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    policy = ACTPolicy(config)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-3)
    start = time.time()
    for step in range(args.steps):
        samples = [episode(rng, config, space)[0] for _ in range(args.batch)]
        loss, terms = policy({k: torch.stack([s[k] for s in samples]) for k in samples[0]})
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step}: loss {float(loss):.2f}, hit {float(terms['hit_point_now']):.2f}", flush=True)
    policy.eval()
    rng, right = np.random.default_rng(10_000 + args.seed), 0
    for _ in range(60):
        _, text, screen, (x0, y0, x1, y1) = episode(rng, config, space)
        policy.reset()
        x, y = policy.select_action({"screen": screen, "instruction": text})["point"] * (W, H)
        right += bool(x0 - 3 <= x <= x1 + 3 and y0 - 3 <= y <= y1 + 3)
    print(
        f"reading={args.reading}: {right} / 60 fresh episodes on the named word ({time.time() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
