"""Validate and summarise a recording directory or a built dataset, and draw its contact sheet."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from act.data.build import INFO_FILE, DatasetInfo
from act.recording import RecordingError, find_episodes, read_episode, validation_report
from act.viz import contact_sheet, draw_actions


def inspect_path(path: str | Path, out_dir: str | Path | None = None, max_tiles: int = 24) -> dict[str, Any]:
    """Summary dict of ``path`` (episodes, steps, kind histogram, screens, tasks, intents).

    Writes ``contact_sheet.png`` and ``summary.json`` into ``out_dir`` (default ``path/inspect``).
    Raises ``RecordingError`` listing every problem of every invalid episode; ``accepted`` counts
    what the reader accepted and changed (docs/recording-format.md, "What the reader accepts").
    """
    path = Path(path)
    out = Path(out_dir) if out_dir else path / "inspect"
    if (path / INFO_FILE).is_file():
        summary, tiles, labels = _dataset(path, max_tiles)
    else:
        summary, tiles, labels = _recordings(path, max_tiles)
    out.mkdir(parents=True, exist_ok=True)
    contact_sheet(tiles, columns=6, labels=labels).save(out / "contact_sheet.png")
    summary["contact_sheet"] = str(out / "contact_sheet.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _recordings(path: Path, max_tiles: int):
    problems, warnings, accepted = [], [], Counter()
    paths = find_episodes(path)  # raises on duplicate episode_ids
    if not paths:
        raise RecordingError(f"no episode directories (with meta.json) under {path}", path)
    for p in paths:
        report = validation_report(p)
        problems += report.problems
        warnings += report.warnings
        accepted.update(report.accepted)
    if problems:
        raise RecordingError(problems)
    kinds, tasks, screens, intents, sources = Counter(), Counter(), Counter(), Counter(), Counter()
    steps, incomplete, tiles, labels = 0, 0, [], []
    per_episode = max(1, max_tiles // len(paths))
    for p in paths:
        ep = read_episode(p)
        actions = ep.actions()
        steps += len(actions)
        incomplete += not ep.meta.complete
        kinds.update(a.kind for a in actions)
        intents.update(a.intent for a in actions if a.intent)
        tasks[ep.meta.task] += 1
        sources[ep.meta.source] += 1
        screens[f"{ep.meta.screen.width}x{ep.meta.screen.height}@{ep.meta.screen.scale:g}"] += 1
        by_frame: dict[int, list] = {}
        for a in actions:
            by_frame.setdefault(a.frame_index, []).append(a)
        for fi, acts in list(by_frame.items())[:per_episode]:
            if len(tiles) < max_tiles:
                frame = ep.frame(fi)
                tiles.append(draw_actions(frame, acts, scale=frame.shape[1] / ep.meta.screen.width))
                labels.append(f"{ep.meta.episode_id} f{fi}")
    summary = {
        "kind": "recordings",
        "path": str(path),
        "episodes": len(paths),
        "incomplete": incomplete,
        "steps": steps,
        "actions": dict(kinds),
        "tasks": dict(tasks),
        "sources": dict(sources),
        "screens": dict(screens),
        "intents": dict(intents.most_common()),
        "accepted": dict(sorted(accepted.items())),
        "warnings": warnings,
    }
    return summary, tiles, labels


def _dataset(path: Path, max_tiles: int):
    from act.data.chunks import ChunkDataset

    info = DatasetInfo.load(path)
    ds = ChunkDataset(path, chunk_size=1)
    space = info.space
    h, w = info.image_size
    rows = sorted({int(r) for r in (list(range(0, len(ds), max(1, len(ds) // max_tiles))))})[:max_tiles]
    tiles, labels = [], []
    for r in rows:
        s = ds[r]
        (a,) = space.decode({k: s[k].numpy() for k in ("kind", "point", "point2", "key", "scroll")}, w, h)
        tiles.append(draw_actions(ds.frame(r), [a]))
        labels.append(f"e{int(s['episode_index'])} s{int(s['step_index'])}")
    summary = {
        "kind": "dataset",
        "path": str(path),
        "episodes": info.num_episodes,
        "steps": info.num_steps,
        "image_size": list(info.image_size),
        "actions": info.kinds,
        "tasks": info.tasks,
        "sources": info.sources,
        "screens": info.screens,
        "intents": info.intents,
        "key_vocab": len(info.action_space["keys"]),
        "instruction_vocab": len(info.instruction_vocab),
    }
    return summary, tiles, labels


def format_summary(summary: dict[str, Any]) -> str:
    """One screen of text for a summary dict."""
    lines = [
        f"{summary['kind']} at {summary['path']}",
        f"  episodes: {summary['episodes']}   steps: {summary['steps']}"
        + (f"   incomplete: {summary['incomplete']}" if summary.get("incomplete") else ""),
    ]
    for key in ("actions", "tasks", "sources", "screens"):
        items = sorted(summary.get(key, {}).items(), key=lambda kv: -kv[1])
        lines.append(f"  {key + ':':9s}" + ", ".join(f"{k} {v}" for k, v in items))
    intents = list(summary.get("intents", {}).items())
    lines.append(
        f"  intents:  {len(intents)} distinct"
        + ("; most common: " + ", ".join(f"{k!r} {v}" for k, v in intents[:4]) if intents else "")
    )
    if summary.get("accepted"):
        lines.append(
            "  accepted: "
            + ", ".join(f"{k} {v}" for k, v in summary["accepted"].items())
            + " (see docs/recording-format.md, What the reader accepts)"
        )
    lines += [f"  warning: {w}" for w in summary.get("warnings", [])]
    lines.append(f"  contact sheet: {summary['contact_sheet']}")
    return "\n".join(lines)
