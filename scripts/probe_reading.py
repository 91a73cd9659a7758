"""Where a reading policy's clicks go wrong, per synthui task: does it seek the right word, and does
it read that word where the expert clicks?

    .venv/bin/python scripts/probe_reading.py <run>/policies/best [--tasks ClickButton,MenuItem]
        [--samples 200] [--seed 777] [--out DIR]

For each task, ``--samples`` fresh expert samples (nominal, the train strings; stream seed ``--seed``,
not one training drew) go through the policy once. On every first chunk step that points at a cell
showing a known word (the sought word; with ``reading: rendered``, an instruction span), it reports:

- seek: the seek head names that word (``Seek``: "which instruction word does this click look for");
- read: the reading head names that word at the clicked cell;
- hit: the centre of the pointer's top cell lies in the clicked element's box.

A policy can seek right and read wrong (it knows it wants "send" and cannot see where "send" is) or
the other way round; success needs both. Needs a policy with ``pointer_reads`` (the seek head) and
its training dataset (training_data.json names it; ``--dataset`` to give another one with the same
vocabulary). Prints a table and writes probe_reading.json to ``--out``.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from act.data import DatasetInfo  # noqa: E402
from act.policy.modeling_act import ACTPolicy, point_in_box  # noqa: E402
from act.policy.rendered_reading import span_words_of  # noqa: E402
from act.training.online import ExpertStream  # noqa: E402

DEFAULT_TASKS = "ClickButton,MenuItem,TickCheckboxes,SearchSubmit,Login,ExportReport,SetSlider,ScrollOpen"


def probe(policy: ACTPolicy, info: DatasetInfo, task: str, samples: int, seed: int) -> dict:
    c = policy.config
    stream = ExpertStream(info, [task], [""], c.chunk_size, seed=seed, cells=c.pointer_cells(), buffer=1)
    batch = torch.utils.data.default_collate(list(itertools.islice(iter(stream), samples)))
    m = policy.model
    with torch.no_grad():
        t = policy._targets(batch)
        out = m(batch["image"], policy.instruction_input(batch), t.actions, ~t.valid, t.typed, t.prev_kind)
        cell = m.point_head.to_cell(t.actions["point"][:, 0])[0]  # (B,) the clicked cell
        rendered = c.reading == "rendered"  # targets: the instruction span shown, not a vocabulary word
        shown = batch["cell_spans" if rendered else "cell_words"].long()
        sought = shown.gather(1, cell[:, None])[:, 0]  # (B,) the word shown there
        seek = m.point_head.seek(out["steps"][:, :1], out["word_ids"], out["instruction_memory"])[:, 0]
        read = out["read_logits"].argmax(-1).gather(1, cell[:, None])[:, 0]  # (B,)
        top = m.point_head.logits(out["steps"][:, :1], out["image_memory"], m.point_pos, m.reading(out))[:, 0]
    centre = m.point_head.from_cell(top.argmax(-1), torch.full((len(top), 2), 0.5))  # (B, 2) in [0, 1]
    hit = point_in_box(centre, batch["target"][:, 0])  # (B,)
    labelled = t.is_pointer[:, 0] & (sought > (0 if rendered else 1))  # pointer steps at a known word
    n = int(labelled.sum())
    sought_l, seek_l, read_l = sought[labelled], seek.argmax(-1)[labelled], read[labelled]

    def name(row: int, w: int) -> str:  # a vocabulary word, or the row's instruction span (0: none)
        if not rendered:
            return c.instruction_vocab[w]
        return span_words_of(batch["instruction_bytes"][row].tolist())[w - 1] if w else "<none>"

    rows = labelled.nonzero()[:, 0].tolist()
    misread = collections.Counter(
        (name(i, int(s)), name(i, int(r))) for i, s, r in zip(rows, sought_l, read_l) if int(s) != int(r)
    )
    return {
        "pointer_steps": int(t.is_pointer[:, 0].sum()),
        "labelled": n,
        "seek": float((seek_l == sought_l).float().mean()) if n else None,
        "read": float((read_l == sought_l).float().mean()) if n else None,
        "hit": float(hit[labelled].float().mean()) if n else None,
        "misread": [[s, r, k] for (s, r), k in misread.most_common(5)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("policy", help="a policy directory (config.json + model.safetensors)")
    ap.add_argument("--tasks", default=DEFAULT_TASKS)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--dataset", help="default: the dataset training_data.json names")
    ap.add_argument("--out", default=".")
    args = ap.parse_args()
    policy = ACTPolicy.from_pretrained(args.policy).eval()
    if policy.model.point_head.seek is None:
        sys.exit(
            f"{args.policy}: the policy has no seek head (policy.pointer_reads is off): nothing to probe"
        )
    dataset = args.dataset
    if dataset is None:
        trained = Path(args.policy) / "training_data.json"
        if not trained.exists():
            sys.exit(f"{trained}: missing; give the training dataset with --dataset")
        dataset = json.loads(trained.read_text())["dataset"]
    info = DatasetInfo.load(dataset)
    result = {}
    print(
        f"{'task':15s} {'pointer':>7s} {'labelled':>8s} {'seek':>6s} {'read':>6s} {'hit':>6s}  most misread"
    )
    for task in args.tasks.split(","):
        r = result[task] = probe(policy, info, task, args.samples, args.seed)

        def pct(v):
            return "-" if v is None else f"{v:.0%}"

        misread = ", ".join(f"{s}->{w} x{k}" for s, w, k in r["misread"][:3])
        print(
            f"{task:15s} {r['pointer_steps']:7d} {r['labelled']:8d} {pct(r['seek']):>6s} "
            f"{pct(r['read']):>6s} {pct(r['hit']):>6s}  {misread}",
            flush=True,
        )
    out = Path(args.out) / "probe_reading.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"policy": args.policy, "samples": args.samples, "seed": args.seed, **result}, indent=1)
    )
    print(f"json: {out}")


if __name__ == "__main__":
    main()
